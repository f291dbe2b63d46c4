package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/tesla2mqtt/tesla2mqtt/bridge"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/device"
	"github.com/tesla2mqtt/tesla2mqtt/config"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// The reference day with the car in Bluetooth range of the bridge while
// it is home: overnight until it leaves at 07:30, and from its return at
// 18:00 (it charges there 18:10–20:10). Range is not part of the car's
// script, so the replay moves it as the clock passes those times.
var (
	benchBLELeaves  = 7*time.Hour + 30*time.Minute
	benchBLEReturns = 18 * time.Hour
	benchBLERSSI    = -62
)

// runBridgeBLEDay replays the day under the default policy with
// [vehicle.ble] enabled (route "prefer") over the simulator's radio: the
// app's key is paired, as `tesla2mqtt ble pair` or the pairing link leaves
// it. At home the body controller replaces the connectivity check and
// GetState the reads; away the Fleet API serves the car: polled as in the
// default row, or, with stream set, over Fleet Telemetry as in the
// telemetry row. Staleness counts a Bluetooth read like a vehicle_data
// read.
func runBridgeBLEDay(stream bool) func(context.Context) (*benchEnv, error) {
	return func(ctx context.Context) (*benchEnv, error) { return runBLEDay(ctx, stream) }
}

func runBLEDay(ctx context.Context, stream bool) (_ *benchEnv, err error) {
	e, err := newBenchEnv()
	if err != nil {
		return nil, err
	}
	key, err := e.pairAppKey()
	if err != nil {
		return nil, err
	}
	e.sim.SetKeyPaired(benchVIN, true)
	e.sim.SetBLERange(benchVIN, true, benchBLERSSI)
	cfg := config.Default()
	cfg.Vehicles = []config.Vehicle{{VIN: benchVIN, BLE: config.VehicleBLE{Enabled: true}}}
	if stream {
		if err := e.configureStream(ctx, &cfg, key); err != nil {
			return nil, err
		}
	}
	var b *bridge.Bridge
	var mu sync.Mutex
	car, err := fleet.NewBLEVehicle(fleet.BLEOptions{VIN: benchVIN, Radio: e.sim.BLERadio(), PrivateKey: key, Clock: e.clock,
		Logger: zerolog.Nop(), OnStatus: func(st fleet.BLEStatus) {
			mu.Lock()
			defer mu.Unlock()
			if b != nil {
				b.BLEStatus(benchVIN, st)
			}
		}})
	if err != nil {
		return nil, err
	}
	opts, sched, err := e.bridgeOptions(&cfg)
	if err != nil {
		return nil, err
	}
	opts.BLE = []device.BLECar{{Vehicle: benchBLEReads{BLEVehicle: car, e: e}, Route: fleet.BLEPrefer}}
	if stream {
		opts.Telemetry = telemetryOptions(&cfg, e)
	}
	pub := newBenchPub()
	mu.Lock()
	b, err = bridge.New(opts, e.client, pub)
	mu.Unlock()
	if err != nil {
		return nil, err
	}
	var s *benchStream
	if stream {
		if s, err = e.attachStream(b, &cfg, pub); err != nil {
			return nil, err
		}
	}
	// The session runs beside the bridge, as run runs it.
	sctx, cancel := context.WithCancel(ctx)
	sessionDone := make(chan struct{})
	go func() {
		defer close(sessionDone)
		_ = runGuarded("bench: the bluetooth session", func() { _ = car.Run(sctx) })
	}()
	defer func() { cancel(); <-sessionDone }()
	stop, err := runBenchBridge(ctx, b, sched)
	if err != nil {
		return nil, err
	}
	defer func() {
		if rerr := stop(); err == nil {
			err = rerr
		}
	}()
	home := true
	step := func(now time.Time) {
		at := now.Sub(benchDay)
		switch {
		case home && at >= benchBLELeaves && at < benchBLEReturns:
			home = false
			e.sim.SetBLERange(benchVIN, false, 0)
		case !home && at >= benchBLEReturns:
			home = true
			e.sim.SetBLERange(benchVIN, true, benchBLERSSI)
			// The session's Run links within its back-off on its own
			// goroutine; linking here keeps the replay deterministic.
			_ = car.Connect(ctx)
		}
		if s != nil {
			s.tick()
		}
		sched.RunDue(now)
		if s != nil {
			s.sample(now)
		}
	}
	return e, e.loop(step, e.sender(&cfg, pub))
}

// benchAtHome reports whether the reference day has the car at home, in
// Bluetooth range, at t.
func benchAtHome(t time.Time) bool {
	at := t.Sub(benchDay)
	return at < benchBLELeaves || at >= benchBLEReturns
}

// benchBLEReads notes when a read over Bluetooth brought the battery
// level and the location, for the staleness columns.
type benchBLEReads struct {
	fleet.BLEVehicle
	e *benchEnv
}

// VehicleData reads over Bluetooth and notes what the read brought.
func (r benchBLEReads) VehicleData(ctx context.Context, eps []fleet.Endpoint) (*fleet.VehicleData, error) {
	d, err := r.BLEVehicle.VehicleData(ctx, eps)
	if err != nil {
		return d, err
	}
	now := r.e.clock.Now()
	r.e.mu.Lock()
	defer r.e.mu.Unlock()
	if len(eps) == 0 || slices.Contains(eps, fleet.ChargeState) {
		r.e.lastBat = now
	}
	if slices.Contains(eps, fleet.LocationData) {
		r.e.lastLoc = now
	}
	return d, nil
}

// benchBLERow names the row with Bluetooth at home and the Fleet API
// polled away.
const benchBLERow = "tesla2mqtt + BLE at home"

// benchBLEStreamRow names the row with Bluetooth at home and Fleet
// Telemetry away.
const benchBLEStreamRow = "tesla2mqtt + BLE at home + Fleet Telemetry"

// row is the report's row of that name, or nil.
func (rep *economyReport) row(name string) *benchRow {
	for i := range rep.Rows {
		if rep.Rows[i].Name == name {
			return &rep.Rows[i]
		}
	}
	return nil
}

// writeBLE prints, for the Bluetooth rows, what went over Bluetooth for
// free and where the billable requests fell, and their targets: at most
// 10 billable requests per car-day, no wake by the bridge, and staleness
// no worse than the default row's polling. Polled away, a day with an
// hour of driving cannot keep the first: polling's driving staleness is a
// read a minute, 60 billable requests. The row that streams away keeps
// all three; the polled row shows what the home hours alone cost.
func (rep *economyReport) writeBLE(w io.Writer) {
	poll := rep.row(benchDefaultRow)
	rows := []*benchRow{rep.row(benchBLERow), rep.row(benchBLEStreamRow)}
	for _, ble := range rows {
		if ble == nil {
			continue
		}
		fmt.Fprintf(w, "\nOver Bluetooth, %s (free, not in the table's billable columns): %d wakes; messages by kind:", ble.Name, ble.BLEWakes)
		for _, k := range sortedKeys(ble.BLE) {
			fmt.Fprintf(w, " %s %d", k, ble.BLE[k])
		}
		fmt.Fprintf(w, "\nBillable requests for the car while it is home (00:00–07:30, 18:00–24:00) / away: %s %d / %d",
			ble.Name, ble.HomeBillable, ble.CarBillable()-ble.HomeBillable)
		if poll != nil {
			fmt.Fprintf(w, "; %s %d / %d", poll.Name, poll.HomeBillable, poll.CarBillable()-poll.HomeBillable)
		}
		fmt.Fprintln(w)
	}
	for _, ble := range rows {
		if ble == nil {
			continue
		}
		fmt.Fprintf(w, "\nTargets for %s:\n", ble.Name)
		if len(ble.Signals) > 0 {
			fmt.Fprintf(w, "- at most 10 billable requests per car-day: %s (%d, $%.4f with %d streamed signals)\n",
				check(ble.CarBillable() <= 10), ble.CarBillable(), ble.CarUSD, ble.Car[fleet.CategoryStreaming])
		} else {
			fmt.Fprintf(w, "- at most 10 billable requests per car-day at home: %s (%d)\n", check(ble.HomeBillable <= 10), ble.HomeBillable)
			fmt.Fprintf(w, "  (not a target: the whole day is %d, $%.3f, all away, where the car is polled over the Fleet API like the default row; its hour of driving alone is 60 reads to match polling's staleness)\n",
				ble.CarBillable(), ble.CarUSD)
		}
		fmt.Fprintf(w, "- 0 wakes caused by the bridge: %s (%d)\n", check(ble.BridgeWake == 0), ble.BridgeWake)
		if poll == nil {
			continue
		}
		for _, k := range []string{"drive_battery", "drive_location", "charge_battery", "charge_location"} {
			fmt.Fprintf(w, "- p95 staleness %s no worse than polling: %s (%.0f s; polling %.0f s)\n", strings.ReplaceAll(k, "_", " "),
				check(!(ble.Stale[k][1] > poll.Stale[k][1])), ble.Stale[k][1], poll.Stale[k][1])
		}
	}
}

// check is a target's verdict in the report.
func check(ok bool) string {
	if ok {
		return "holds"
	}
	return "MISSED"
}
