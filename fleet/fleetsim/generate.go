package fleetsim

import (
	"fmt"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// Generated fleets: Options.Vehicles and Options.EnergySites replace the
// default account with n cars and m sites, for scale benchmarks. The same
// counts always give the same VINs, ids and states, so two runs compare.

// Car mix of a generated fleet, by position modulo 10: four in ten asleep,
// two charging, one driving, three awake and parked. A fleet of private
// cars sleeps most of the day; a bench in which every car answered
// vehicle_data would overstate the polling work.
const (
	mixAsleep   = 4
	mixCharging = 2
	mixDriving  = 1
)

// GeneratedVIN is the VIN of car i (from 0) of a generated fleet.
func GeneratedVIN(i int) string {
	if i%2 == 0 {
		return fmt.Sprintf("5YJ3E1EA7PF%06d", i+1)
	}
	return fmt.Sprintf("7SAYGDEE1PF%06d", i+1)
}

// GeneratedSiteID is the energy_site_id of site j (from 0) of a generated fleet.
func GeneratedSiteID(j int) int64 { return 2000000001 + int64(j) }

// GeneratedMix is the state car i of a generated fleet starts in:
// "asleep", "charging", "driving" or "parked" (awake).
func GeneratedMix(i int) string {
	switch k := i % 10; {
	case k < mixAsleep:
		return "asleep"
	case k < mixAsleep+mixCharging:
		return "charging"
	case k < mixAsleep+mixCharging+mixDriving:
		return "driving"
	}
	return "parked"
}

// generatedVehicles returns n cars in the GeneratedMix.
func generatedVehicles(n int, now time.Time) []*vehicleSim {
	out := make([]*vehicleSim, n)
	for i := range out {
		v := &vehicleSim{
			id: 3745000000000001 + int64(i), vehicleID: 1493000001 + int64(i),
			cfg: vehicleConfig{carType: "model3", trim: "74d", color: "PearlWhite", wheels: "Pinwheel18CapKit",
				chargePort: "CCS", cable: "IEC", distanceUnits: "km/hr", tempUnits: "C"},
			snap: VehicleSnapshot{
				VIN: GeneratedVIN(i), DisplayName: fmt.Sprintf("Car %d", i+1), State: fleet.StateOnline, CommandSigning: "allowed",
				BatteryLevel: 30 + float64(i*7%60), ChargeLimit: 90, ChargingState: ChargingDisconnected,
				ChargeAmps: 16, ChargeCurrentMax: 32, InsideTemp: 18, OutsideTemp: 9, DriverTemp: 21, PassengerTemp: 21,
				Locked: true, Latitude: 52 + float64(i%100)/100, Longitude: 13 + float64(i/100%100)/100, Heading: float64(i * 37 % 360),
				Odometer: 1000 + float64(i*131%40000), CarVersion: "2026.32.5 abcdef123456",
				TpmsFL: 2.9, TpmsFR: 2.9, TpmsRL: 2.9, TpmsRR: 2.9, PackKWh: 75, RatedRangeMiles: 333,
			},
		}
		if i%2 == 1 {
			v.cfg.carType, v.cfg.color = "modely", "DeepBlue"
		}
		s := &v.snap
		switch GeneratedMix(i) {
		case "asleep":
			s.State = fleet.StateAsleep
		case "charging":
			s.ChargingState, s.ChargerVoltage, s.ChargerPhases, s.ChargePortOpen = ChargingCharging, 230, 3, true
			s.BatteryLevel = 20 + float64(i%50)
		case "driving":
			s.ShiftState, s.Speed, s.Locked = "D", 25+float64(i%40), true
			s.BatteryLevel = 50 + float64(i%40)
		}
		v.updated, v.lastActive, v.userActive, v.onlineAt = now, now, now, now
		out[i] = v
	}
	return out
}

// generatedSites returns m sites cycling through the three kinds of the
// default account (Powerwall 2 with a Wall Connector, solar only,
// Powerwall 3).
func generatedSites(m int, now time.Time) []*siteSim {
	out := make([]*siteSim, m)
	for j := range out {
		st := &siteSim{
			id: GeneratedSiteID(j), name: fmt.Sprintf("Site %d", j+1),
			uuid: fmt.Sprintf("STE20250101-%05d", j+1), gatewayID: fmt.Sprintf("1232100-00-E--TG%012d", j+1),
			tzID: homeTimeZone, tz: homeLocation, gridStatus: "Active",
		}
		switch j % 3 {
		case 0:
			st.kind, st.capacityWh, st.maxBatteryW, st.solarPeakW = sitePowerwall2, 13500, 5000, 6000
			st.wallConnectorDIN = fmt.Sprintf("1457768-02-G--GEN%06d", j+1)
			st.pct, st.backupReserve, st.realMode, st.exportRule = 55, 20, "self_consumption", "pv_only"
		case 1:
			st.kind, st.solarPeakW = siteSolarOnly, 4000
		default:
			st.kind, st.capacityWh, st.maxBatteryW, st.solarPeakW = sitePowerwall3, 13500, 11500, 8000
			st.pct, st.backupReserve, st.realMode, st.exportRule = 80, 30, "autonomous", "battery_ok"
		}
		st.updated, st.created, st.initialPct = now, now, st.pct
		st.ledger = map[int64]*energyBucket{}
		out[j] = st
	}
	return out
}

// VehicleStates returns every car's state ("online", "asleep",
// "offline") by VIN as of the clock's now, in one pass; it does not count
// as activity.
func (s *Sim) VehicleStates() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceLocked(s.clock.Now())
	out := make(map[string]string, len(s.vehicles))
	for _, v := range s.vehicles {
		out[v.snap.VIN] = v.snap.State
	}
	return out
}
