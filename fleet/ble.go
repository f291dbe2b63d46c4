package fleet

import (
	"context"
	"crypto/ecdsa"
	"time"

	"github.com/rs/zerolog"
	"github.com/teslamotors/vehicle-command/pkg/connector"

	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

// Bluetooth (BLE): the same signed Vehicle Command Protocol as
// signed_command, spoken to the car directly from the host's adapter. It
// costs nothing, needs no internet and reads the car's sleep status without
// waking it. docs/ble.md describes how the bridge routes between BLE and
// the Fleet API.

// BLERoute is a car's policy between BLE and the Fleet API ([vehicle.ble]
// route in the config).
type BLERoute string

// The routes.
const (
	// BLEPrefer: BLE while the car is in range, the Fleet API otherwise.
	BLEPrefer BLERoute = "prefer"
	// BLEOnly: never the Fleet API for this car's reads, commands and wakes.
	BLEOnly BLERoute = "only"
	// BLEOff: watch the beacon (in range, RSSI) but route nothing over BLE.
	BLEOff BLERoute = "off"
)

// BLEVehicle is one car over BLE, as the bridge uses it. Every method that
// talks to the car fails fast with ErrBLEOutOfRange while no link is up,
// so the caller can take the Fleet API instead without waiting. Safe for
// concurrent use; requests to one car are serialised.
type BLEVehicle interface {
	// VIN is the car.
	VIN() string
	// Connect scans for the car's beacon and opens the link; it is a no-op
	// while connected.
	Connect(ctx context.Context) error
	// Close ends the link (and Run's reconnects, when Run's context ends).
	Close()
	// Status tells whether the link is up, the last RSSI and when the car was last seen.
	Status() BLEStatus
	// BodyControllerState reads VCSEC: asleep/awake, locks, doors. It never
	// wakes the car and needs no paired key.
	BodyControllerState(ctx context.Context) (*BodyState, error)
	// VehicleData reads the blocks of endpoints with GetState (infotainment
	// must be awake: ErrBLEAsleep otherwise), mapped into the vehicle_data
	// view. Blocks the car does not send over BLE stay nil (BLEUnavailable).
	VehicleData(ctx context.Context, endpoints []Endpoint) (*VehicleData, error)
	// Wake wakes infotainment (free over BLE) and waits until the body
	// controller reports it awake, or ctx ends.
	Wake(ctx context.Context) error
	// Command runs a command of the Fleet API's REST vocabulary, translated
	// as for signed_command. A refusal by the car is a CommandResult with
	// Result false; errors are the package's sentinels (ErrBLEKeyNotPaired,
	// ErrBLEAsleep, ErrBLEOutOfRange, ErrBLENeedsFleetAPI, ErrMayHaveSucceeded…).
	Command(ctx context.Context, cmd Command) (*CommandResult, error)
	// KeyPaired asks the body controller whether it knows the app's key
	// (a VCSEC handshake: free, works asleep). The bridge uses it for
	// key_paired while the car is in range, and after pairing.
	KeyPaired(ctx context.Context) (bool, error)
	// StartPairing sends the add-key request for the app's key (unless the
	// car knows it already); the user then taps a key card in the car, and
	// KeyPaired turns true.
	StartPairing(ctx context.Context) (already bool, err error)
	// Run keeps the link: it scans for the beacon (RSSI), reconnects with
	// back-off after the car left and came back, and returns when ctx ends.
	Run(ctx context.Context) error
}

// BLEStatus is a snapshot of one car's BLE link.
type BLEStatus struct {
	// Connected: a link is up and requests go over it.
	Connected bool
	// InRange: the beacon was seen by the last scan or the link is up.
	InRange bool
	// RSSI of the last advertisement seen (dBm, negative); 0 = never seen.
	RSSI int
	// SeenAt is when the car was last seen (scan or answer).
	SeenAt time.Time
	// LastError is the last connect or scan failure, nil after a success.
	LastError error
}

// BLERadio is the host's Bluetooth adapter as BLEVehicle needs it: fleet/ble
// drives a real one, fleetsim.BLERadio carries the bytes to the simulator.
type BLERadio interface {
	// Scan looks for the car's beacon (its local name comes from the VIN:
	// BLELocalName) until it is seen or ctx ends; a car that is not seen is
	// found=false with a nil error. Errors are adapter problems (*AdapterError).
	Scan(ctx context.Context, vin string) (found bool, rssi int, err error)
	// Dial opens a link to the car and returns the SDK's transport over it.
	Dial(ctx context.Context, vin string) (connector.Connector, error)
}

// BLEBeacon is one car's advertisement seen by a scan of every beacon.
type BLEBeacon struct {
	// LocalName is "S<16 hex digits>C" (BLELocalName of the VIN).
	LocalName string
	// Address is the beacon's Bluetooth address.
	Address string
	// RSSI is the strongest signal seen, in dBm.
	RSSI int
	// Connectable is false when the car already has the most BLE links it keeps.
	Connectable bool
}

// BLEOptions configure one car's BLE session (NewBLEVehicle).
type BLEOptions struct {
	// VIN of the car. Required.
	VIN string
	// Radio is the adapter. Required.
	Radio BLERadio
	// PrivateKey is the app's key; without it only BodyControllerState works
	// (ErrBLENoKey for the rest).
	PrivateKey *ecdsa.PrivateKey
	// Clock times back-off, scans and wake polls (default: the wall clock).
	Clock clock.Clock
	// Logger gets link changes; never keys or payloads.
	Logger zerolog.Logger
	// ScanTimeout bounds one beacon scan (default 10 s; cars advertise
	// every 20–150 ms).
	ScanTimeout time.Duration
	// ConnectTimeout bounds dialling once the beacon was seen (default 20 s).
	ConnectTimeout time.Duration
	// RequestTimeout bounds one read or command including its handshake
	// (default 30 s).
	RequestTimeout time.Duration
	// BackoffMin and BackoffMax bound the wait between failed connects,
	// doubling in between (defaults 2 s and 1 min).
	BackoffMin, BackoffMax time.Duration
	// ScanInterval is how often Run refreshes RSSI while connected, or
	// scans for the beacon with ScanOnly (default 1 min).
	ScanInterval time.Duration
	// ScanOnly: Run only watches the beacon (in range, RSSI) and never
	// opens a link, which would take one of the car's few Bluetooth slots
	// for nothing (route = "off"). Connect still opens one on request.
	ScanOnly bool
	// WakePoll is how often Wake asks the body controller whether the car
	// is awake yet (default 1 s); WakeTimeout bounds the wait (default 60 s).
	WakePoll, WakeTimeout time.Duration
	// OnStatus, when set, is called after every change of Status (link up
	// or down, RSSI), possibly in the middle of a request: it must return
	// quickly and must not call the car's methods (Status excepted).
	OnStatus func(BLEStatus)
}

func (o *BLEOptions) defaults() {
	o.Clock = clock.OrReal(o.Clock)
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.ScanTimeout, 10*time.Second)
	def(&o.ConnectTimeout, 20*time.Second)
	def(&o.RequestTimeout, 30*time.Second)
	def(&o.BackoffMin, 2*time.Second)
	def(&o.BackoffMax, time.Minute)
	def(&o.ScanInterval, time.Minute)
	def(&o.WakePoll, time.Second)
	def(&o.WakeTimeout, time.Minute)
	if o.BackoffMax < o.BackoffMin {
		o.BackoffMax = o.BackoffMin
	}
}

// BLECarConfig is one car's [vehicle.ble] settings as cmd maps them from
// the config, for the bridge to build its BLE sessions from.
type BLECarConfig struct {
	VIN string
	// Adapter is "hci0", "hci1"…; "" = the first adapter.
	Adapter string
	Route   BLERoute
}
