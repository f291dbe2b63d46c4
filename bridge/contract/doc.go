// Package contract is what the bridge shows the outside as types: the
// JSON shapes of its own topics (bridge/info, bridge/status, bridge/event,
// bridge/response), the status page's snapshot and the hooks that observe
// it, with the few builders that render the account, its dead end and
// the Fleet API spend.
package contract
