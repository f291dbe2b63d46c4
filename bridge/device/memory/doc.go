// Package memory is the JSON shape of what a device knew before a restart,
// so a sleeping car is not published as unknown until it wakes.
package memory
