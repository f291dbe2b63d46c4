package fleet

// Command is one Fleet API command in the Fleet API's own vocabulary: the
// REST command name (set_charge_limit, door_lock, backup…) and its JSON body.
// The same value goes to the REST endpoint, to the vehicle-command SDK
// (through proxy.ExtractCommandAction) or to an energy-site endpoint, so
// there is one vocabulary from the MQTT payload to the wire.
type Command struct {
	Name   string
	Params map[string]any
}
