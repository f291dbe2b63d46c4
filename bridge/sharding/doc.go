// Package sharding splits one account's devices between several
// instances: which instance owns a device, and where each instance's own
// bridge topics live.
package sharding
