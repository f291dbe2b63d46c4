// Package economy decides what a Fleet API read may cost: each car's
// polling state (read while driving or charging, leave a quiet parked car
// alone so it can sleep), the back-off and circuit of a failing endpoint,
// the pause after Tesla's EXCEEDED_LIMIT, and the monthly budget that
// meters every response, stretches polling near its limit and, with a hard
// cap, refuses commands. It decides; the bridge reads.
package economy
