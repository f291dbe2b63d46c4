package fleet

// Prices are USD per billable Fleet API response. They are the one price
// table of the program: the budget, the metrics, the status page and the
// bench all price a Request with Of, so they can never disagree about what
// a day cost.
//
// Data, Command, Wake and Streaming price the billing categories.
// Connectivity prices the vehicle list and state checks, which Tesla does
// not bill today but might. EnergyData prices the energy-site reads
// (live_status, site_info, calendar_history): Tesla's docs and the peers
// treat them as unbilled (UNCONFIRMED for 2026), so they are metered as data
// (CategoryOf) but priced apart, and a Powerwall read every minute does not
// stretch the cars' polling unless the user says energy reads cost money.
type Prices struct {
	Data, Command, Wake, Streaming, Connectivity, EnergyData float64
}

// DefaultPrices are Tesla's public prices (FLEET_API.md §6.1); the
// connectivity check and energy reads are free.
func DefaultPrices() Prices {
	return Prices{Data: 0.002, Command: 0.001, Wake: 0.02, Streaming: 1.0 / 150000}
}

// Price buckets beyond the billing categories: the endpoints Prices prices
// apart from their category.
const (
	BucketConnectivity = "connectivity"
	BucketEnergyData   = "energy_data"
)

// Bucket names the price a response is charged at, so a breakdown of the
// spend adds up to the total: BucketConnectivity, BucketEnergyData, or its
// billing category.
func (p Prices) Bucket(r Request) string {
	switch r.Endpoint {
	case CallVehicles, CallVehicle:
		return BucketConnectivity
	case CallLiveStatus, CallSiteInfo, CallCalendarHistory:
		return BucketEnergyData
	}
	c := r.Category
	if c == "" {
		c = CategoryOf(r.Endpoint)
	}
	return string(c)
}

// Of returns what one response costs: nothing when Tesla does not bill it
// (Request.Billable), else the price of its endpoint or billing category.
// A Request without a Category is priced by CategoryOf its endpoint.
func (p Prices) Of(r Request) float64 {
	if !r.Billable() {
		return 0
	}
	switch r.Endpoint {
	case CallVehicles, CallVehicle:
		return p.Connectivity
	case CallLiveStatus, CallSiteInfo, CallCalendarHistory:
		return p.EnergyData
	}
	c := r.Category
	if c == "" {
		c = CategoryOf(r.Endpoint)
	}
	return p.Category(c)
}

// Category is the price of one billable response of category c, for
// endpoints without a price of their own. CategoryFree costs nothing.
func (p Prices) Category(c Category) float64 {
	switch c {
	case CategoryData:
		return p.Data
	case CategoryCommand:
		return p.Command
	case CategoryWake:
		return p.Wake
	case CategoryStreaming:
		return p.Streaming
	}
	return 0
}

// Spend prices every counted response with p and returns USD per billing
// category; categories that cost nothing are left out. It is what the
// status page shows when no budget keeps its own running total.
func (m *Meter) Spend(p Prices) map[Category]float64 {
	out := map[Category]float64{}
	m.mu.Lock()
	for k, n := range m.counts {
		if usd := p.Of(Request{Endpoint: k.Endpoint, Category: k.Category, Status: k.Status}); usd > 0 {
			out[k.Category] += usd * float64(n)
		}
	}
	m.mu.Unlock()
	return out
}
