package config

// ValidateRun reports what keeps `run` from starting although the file is
// valid: Validate accepts a config that only some subcommands can use
// (check-config, fleetsim, hash-password need no Tesla app), but the bridge
// needs the app's client id for every token refresh. check-config and run
// both ask it, so check-config says OK only when run can start.
func (c *Config) ValidateRun() error {
	var ps problems
	if c.Tesla.ClientID == "" {
		ps.add("tesla.client_id", "required to run the bridge: the client id of your app on developer.tesla.com")
	}
	return ps.err()
}
