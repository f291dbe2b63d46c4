// Package fleet is everything the bridge knows about Tesla's Fleet API:
// OAuth (login, partner token, refresh) with the rotating token saved
// before use, regions, typed responses, REST and signed vehicle commands,
// the error taxonomy, and metering and pricing of every request.
//
// Its vocabulary is VINs, energy site ids and the Fleet API's own command
// names; it imports nothing of MQTT, the bridge or the config file.
//
// Three choices shape it:
//
//   - Client never retries. Every response below 500 is billed (Prices,
//     Recorder), so retry and back-off belong to the caller, who asks
//     Temporary and MayHaveRun instead of reading error text.
//   - Refresh tokens rotate and are single use. TokenSource saves each
//     rotation (FileTokenStore, atomically) before anything uses it.
//   - Commands go by the path each car needs: REST, or end-to-end signed
//     through the vehicle-command SDK (Commander), which learns the path
//     per car. Commander owns the SDK's goroutines; Run or Close ends them.
//
// fleetsim, a sub-package, plays the Fleet API in tests and the demo.
package fleet
