package fleetsim

import "github.com/tesla2mqtt/tesla2mqtt/fleet"

// endpointStatus is the metering name of the unauthenticated GET /status.
const endpointStatus = "status"

// categoryOf is the billing category of a metering endpoint name: the
// bridge's own table (fleet.CategoryOf), so the simulator's Billable and the
// bridge's meter agree by construction. /status is not a Fleet API call.
func categoryOf(endpoint string) fleet.Category {
	if endpoint == endpointStatus {
		return fleet.CategoryFree
	}
	return fleet.CategoryOf(endpoint)
}
