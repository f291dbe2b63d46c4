package economy

import "time"

// The connectivity check when Tesla bills it. One GET /api/1/vehicles a
// minute is 1,440 calls a day for the whole account: at the data price
// ($0.002) $2.88 a day, more than a car's reads. When it is priced and the
// budget's projection runs over, its stretch goes first: the check only
// buys the minute in which a car's waking is noticed, while a stretched
// vehicle_data job makes every driving car's data older.

// Longest gaps of a stretched, priced connectivity check: 10 minutes, or
// 15 when every car streams Fleet Telemetry, whose connectivity records
// say when a car wakes anyway.
const (
	CheckMaxGap          = 10 * time.Minute
	CheckMaxGapStreaming = 15 * time.Minute
)

// CheckCadence is the connectivity check's pace, for bridge/info.
type CheckCadence struct {
	// EverySeconds is the gap between two checks now.
	EverySeconds int `json:"every_s"`
	// Stretch is how many configured turns make one (1 = as configured).
	Stretch int `json:"stretch"`
	// Reason is "configured", "budget" (priced: stretched before any
	// read) or "budget_streaming" (every car streams: up to 15 minutes).
	Reason string `json:"reason"`
}

// SplitStretch splits the budget's stretch k between a priced
// connectivity check, which takes it first up to checkMax turns, and the
// paid reads, which take what is left (rounded up): k = 4 with a 10-turn
// cap is check ×4, reads ×1; k = 16 is check ×10, reads ×2.
func SplitStretch(k, checkMax int) (check, reads int) {
	k, checkMax = max(k, 1), max(checkMax, 1)
	if k <= checkMax {
		return k, 1
	}
	return checkMax, (k + checkMax - 1) / checkMax
}

// CheckMaxTurns is how many turns of a check every interval fit in its
// longest gap.
func CheckMaxTurns(interval time.Duration, allStreaming bool) int {
	gap := CheckMaxGap
	if allStreaming {
		gap = CheckMaxGapStreaming
	}
	if interval <= 0 {
		return 1
	}
	return max(int(gap/interval), 1)
}
