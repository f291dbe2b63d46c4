// Package route is the ways a car is reached (the Fleet API, Bluetooth),
// so the car kind's polling, command and wake code never asks which it is.
package route
