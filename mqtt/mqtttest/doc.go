// Package mqtttest has test doubles for code that speaks MQTT through
// package mqtt, as net/http/httptest has for HTTP: Router, an in-memory
// publisher and topic router with the Client's Publish, Subscribe,
// Unsubscribe and OnConnect, which records what is published and injects
// inbound messages; and Proxy, a TCP proxy between a client and a real
// broker that can cut every connection the way a dead network does.
//
// It is an ordinary package (not a _test file) so that tests of several
// packages and the benchmark share one implementation. It imports neither
// testing nor anything beyond package mqtt.
package mqtttest
