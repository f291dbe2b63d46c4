package device

import (
	"github.com/rs/zerolog"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/lanes"
)

// Polling rounds run on a bounded pool of workers with one lane per
// device (package lanes): a device is never read twice at once, and a
// command's send and confirming read never run beside a poll of it.

// DefaultConcurrency is the pool's size when Options.Concurrency is 0: at
// 50 ms a request, 16 workers read 700 devices in about 2.2 s, and Tesla's
// rate limits are per device, which one round reads at most once.
const DefaultConcurrency = 16

// pool is the registry's pool of workers, with a lane per device.
type pool = lanes.Pool[*Device]

func newPool(size int, l zerolog.Logger) *pool {
	if size <= 0 {
		size = DefaultConcurrency
	}
	return lanes.New(size, l, laneKey, func(d *Device) string { return d.name })
}

// laneKey is the device whose lane d uses: a device that belongs to
// another (a Wall Connector is read through its site) shares its owner's.
func laneKey(d *Device) *Device {
	if o := d.k.owner(); o != nil {
		return o
	}
	return d
}
