// Package contract holds the JSON shapes of the bridge's own topics
// (bridge/info, bridge/status, bridge/event, bridge/response) and of the
// status page's snapshot, as types that know nothing of the bridge, with
// the few builders that render them from the account, its dead end and
// the Fleet API spend.
package contract
