// Package deps pins the module's dependencies while the packages that use
// them are being written. Removed once every dependency has a real importer.
package deps

import (
	_ "github.com/BurntSushi/toml"
	_ "github.com/eclipse/paho.mqtt.golang"
	_ "github.com/mochi-mqtt/server/v2"
	_ "github.com/robfig/cron/v3"
	_ "github.com/rs/zerolog"
	_ "github.com/teslamotors/vehicle-command/pkg/vehicle"
	_ "golang.org/x/oauth2"
	_ "golang.org/x/sync/errgroup"
)
