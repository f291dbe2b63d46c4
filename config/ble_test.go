package config

import (
	"strings"
	"testing"
)

func TestVehicleBLETableLoads(t *testing.T) {
	doc := `
[tesla]
private_key_file = "keys/private-key.pem"

[[vehicle]]
vin = "5YJ3E1EA7KF000001"
name = "garage"
[vehicle.ble]
enabled = true
adapter = "hci1"
route = "only"

[[vehicle]]
vin = "5YJ3E1EA7KF000002"
`
	cfg, err := LoadWith(writeConfig(t, doc), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	got := cfg.Vehicles[0].BLE
	if !got.Enabled || got.Adapter != "hci1" || got.Route != "only" {
		t.Errorf("vehicle[0].ble = %+v", got)
	}
	if b := cfg.Vehicles[1].BLE; b.Enabled || b.Route != "" {
		t.Errorf("a car without [vehicle.ble] = %+v, want BLE off", b)
	}
}

func TestVehicleBLEUnknownKeyIsAnError(t *testing.T) {
	doc := "[[vehicle]]\nvin = \"5YJ3E1EA7KF000001\"\n[vehicle.ble]\nenable = true\n"
	if _, err := LoadWith(writeConfig(t, doc), noEnv); err == nil || !strings.Contains(err.Error(), "vehicle.ble.enable") {
		t.Errorf("err = %v, want the misspelt key named", err)
	}
}

func TestValidateVehicleBLE(t *testing.T) {
	const vin1, vin2 = "5YJ3E1EA7KF000001", "5YJ3E1EA7KF000002"
	type want struct{ key, msg string }
	on := func(adapter, route string) VehicleBLE {
		return VehicleBLE{Enabled: true, Adapter: adapter, Route: route}
	}
	tests := []struct {
		name string
		edit func(*Config)
		want []want
	}{
		{"prefer with key", func(c *Config) {
			c.Tesla.PrivateKeyFile = "k.pem"
			c.Vehicles = []Vehicle{{VIN: vin1, BLE: on("", "")}, {VIN: vin2, BLE: on("", "prefer")}}
		}, nil},
		{"route unknown", func(c *Config) {
			c.Tesla.PrivateKeyFile = "k.pem"
			c.Vehicles = []Vehicle{{VIN: vin1, BLE: on("", "always")}}
		}, []want{{"vehicle[0].ble.route", "prefer, only, off"}}},
		{"adapter not an id", func(c *Config) {
			c.Tesla.PrivateKeyFile = "k.pem"
			c.Vehicles = []Vehicle{{VIN: vin1, BLE: on("/dev/hci0", "")}}
		}, []want{{"vehicle[0].ble.adapter", `"hci0"`}}},
		{"no private key", func(c *Config) { c.Vehicles = []Vehicle{{VIN: vin1, BLE: on("", "only")}} },
			[]want{{"vehicle[0].ble.enabled", "tesla.private_key_file"}}},
		{"watching needs no key", func(c *Config) { c.Vehicles = []Vehicle{{VIN: vin1, BLE: on("hci0", "off")}} }, nil},
		{"two adapters", func(c *Config) {
			c.Tesla.PrivateKeyFile = "k.pem"
			c.Vehicles = []Vehicle{{VIN: vin1, BLE: on("hci0", "")}, {VIN: vin2, BLE: on("hci1", "")}}
		}, []want{{"vehicle[1].ble.adapter", "one Bluetooth adapter"}}},
		{"settings of a disabled table", func(c *Config) {
			c.Vehicles = []Vehicle{{VIN: vin1, BLE: VehicleBLE{Adapter: "hci0"}}}
		}, []want{{"vehicle[0].ble", "only used with vehicle[0].ble.enabled = true"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.edit(&c)
			ps := Problems(c.Validate())
			if len(ps) != len(tt.want) {
				t.Fatalf("got %d problems, want %d:\n%v", len(ps), len(tt.want), &Error{Problems: ps})
			}
			for i, w := range tt.want {
				if ps[i].Key != w.key || !strings.Contains(ps[i].Message, w.msg) {
					t.Errorf("problem %d = %q, want key %q and a message with %q", i, ps[i], w.key, w.msg)
				}
			}
		})
	}
}
