// Package mqtt is the bridge's one MQTT connection: connect and auto-reconnect,
// last will, re-subscribing every handler on each connect, retained publishes,
// and handler dispatch off the paho goroutine. It knows topics and payloads,
// never cars or energy sites.
//
// A Client starts no goroutine until Connect; Close ends every goroutine it
// started. Package mqtttest has in-memory doubles for tests of its users.
package mqtt
