package device

import (
	"context"
	"sort"
	"strconv"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/command"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/entity"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt/hass"
)

// The energy-site kind: Powerwall and solar sites, read through
// live_status often, site_info rarely and calendar_history for today's
// totals; their commands are plain REST. A site's Wall Connectors become
// devices of their own (wallconnector.go).

// sites is the energy-site family.
type sites struct{ r *Registry }

// site is one energy site.
type site struct {
	kindBase
	r  *Registry
	d  *Device
	v  *entity.SiteView
	hd hass.Device
	// primed is set when discover read the site and no poll has published
	// it since, so the first poll does not pay for the same reads again.
	primed bool
	// wallConnectors are the site's Wall Connector devices, by DIN.
	wallConnectors map[string]*Device
}

// adopt implements family: every energy-site product is a site.
func (ss *sites) adopt(p fleet.Product) (string, func() *Device) {
	if !p.IsEnergySite() {
		return "", nil
	}
	uid := strconv.FormatInt(p.EnergySiteID, 10)
	return uid, func() *Device {
		name := uid
		if n := ss.r.opts.SiteNames[p.EnergySiteID]; n != "" {
			name = n
		}
		s := &site{r: ss.r, v: &entity.SiteView{ID: p.EnergySiteID, Name: p.SiteName, Components: p.Components},
			hd: entity.SiteDevice(p, name, uid)}
		s.d = newDevice(name, uid, s)
		return s.d
	}
}

// start implements family: live_status and site_info of every site.
func (ss *sites) start(ctx context.Context) { ss.pollSites(ctx, true) }

// jobs implements family.
func (ss *sites) jobs(ctx context.Context) []Job {
	s := ss.r.opts.Specs
	return []Job{
		{"live_status", s.LiveStatus, func() { ss.pollSites(ctx, false) }, true, true},
		{"site_info", s.SiteInfo, func() { ss.pollSiteInfo(ctx) }, true, true},
		{"energy_history", s.EnergyHistory, func() { ss.pollEnergyHistory(ctx) }, true, true},
	}
}

// prepareRefresh implements family: each site is read on its own.
func (ss *sites) prepareRefresh(context.Context, *refreshing) {}

// all returns the sites, ordered by name.
func (ss *sites) all() []*site {
	var out []*site
	for _, d := range ss.r.Devices() {
		if s, ok := d.k.(*site); ok {
			out = append(out, s)
		}
	}
	return out
}

func (s *site) kindName() string        { return "energy_site" }
func (s *site) view() any               { return s.v }
func (s *site) table() []*entity.Spec   { return entity.SiteTable(s.v) }
func (s *site) hassDevice() hass.Device { return s.hd }

// prime reads a new site before its first discovery, so it is offered
// only the entities it can use and starts with today's totals.
func (s *site) prime(ctx context.Context) {
	s.readSiteInfo(ctx)
	s.readLiveStatus(ctx)
	s.readHistory(ctx)
	s.r.mu.Lock()
	s.r.bind(s.d)
	s.primed = true
	s.r.mu.Unlock()
}

// refresh reads the site's site_info and live_status now.
func (s *site) refresh(ctx context.Context, _ *refreshing) { s.poll(ctx, true) }

// confirm reads site_info (settings) and live_status (powers) once after
// an energy command, where its effect shows.
func (s *site) confirm(ctx context.Context) { s.poll(ctx, true) }

// send posts an energy command; Tesla answers it without a result body.
func (s *site) send(ctx context.Context, cmd fleet.Command) (*fleet.CommandResult, command.Sent, error) {
	how := command.Sent{Via: entity.ViaFleet}
	if err := s.r.send.EnergyCommand(ctx, s.v.ID, cmd.Name, cmd.Params); err != nil {
		return nil, how, err
	}
	return &fleet.CommandResult{Result: true}, how, nil
}

// pollSites reads live_status of every site (and site_info when withInfo).
// A site that discover has just read is published from those reads.
func (ss *sites) pollSites(ctx context.Context, withInfo bool) {
	ss.round(ctx, func(ctx context.Context, s *site) {
		ss.r.mu.Lock()
		primed := s.primed
		s.primed = false
		ss.r.mu.Unlock()
		if primed {
			s.publish()
			return
		}
		s.poll(ctx, withInfo)
	})
}

func (ss *sites) pollSiteInfo(ctx context.Context) {
	ss.round(ctx, func(ctx context.Context, s *site) {
		s.readSiteInfo(ctx)
		s.publish()
	})
}

// pollEnergyHistory reads today's energy totals of every site.
func (ss *sites) pollEnergyHistory(ctx context.Context) {
	ss.round(ctx, func(ctx context.Context, s *site) {
		s.readHistory(ctx)
		ss.r.host.State(s.d, false)
	})
}

// round runs fn for every site on the registry's pool (pool.go).
func (ss *sites) round(ctx context.Context, fn func(ctx context.Context, s *site)) {
	all := ss.all()
	ds := make([]*Device, len(all))
	for i, s := range all {
		ds[i] = s.d
	}
	ss.r.pool.Round(ctx, ds, func(ctx context.Context, d *Device) { fn(ctx, d.k.(*site)) })
}

// poll reads the site's live status (and site info) and publishes.
func (s *site) poll(ctx context.Context, withInfo bool) {
	if withInfo {
		s.readSiteInfo(ctx)
	}
	s.readLiveStatus(ctx)
	s.publish()
}

// publish publishes the site after a read: discovery again if what the
// site can do changed, its state, then its Wall Connectors.
func (s *site) publish() {
	r := s.r
	r.mu.Lock()
	changed := r.bind(s.d)
	r.mu.Unlock()
	if changed {
		r.log.Info().Str("device", s.d.name).Msg("site capabilities changed; republishing discovery")
		r.host.Discovery(s.d)
	}
	r.host.State(s.d, false)
	s.publishWallConnectors()
}

// gate checks a site read against a running pause and the site's own
// back-off; done records its outcome.
func (s *site) gate(call string) (ok bool, done func(error)) {
	r := s.r
	key := s.d.uid + "/" + call
	if !r.reads.Allowed(key, r.now()) {
		return false, nil
	}
	return true, func(err error) { r.reads.Done(key, s.d.name, err, r.now()) }
}

func (s *site) readLiveStatus(ctx context.Context) {
	ok, done := s.gate(fleet.CallLiveStatus)
	if !ok {
		return
	}
	r := s.r
	ls, err := r.fleet.LiveStatus(ctx, s.v.ID)
	done(err)
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		s.d.lastError = err.Error()
		r.reads.LogFor(err).Err(err).Str("device", s.d.name).Msg("live_status failed; keeping the last values")
		return
	}
	if ls != nil {
		s.v.Live = ls
	}
	s.d.updatedAt = now
	s.d.lastError = ""
}

func (s *site) readSiteInfo(ctx context.Context) {
	ok, done := s.gate(fleet.CallSiteInfo)
	if !ok {
		return
	}
	r := s.r
	info, err := r.fleet.SiteInfo(ctx, s.v.ID)
	done(err)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		s.d.lastError = err.Error()
		r.reads.LogFor(err).Err(err).Str("device", s.d.name).Msg("site_info failed; keeping the last values")
		return
	}
	if info != nil {
		s.v.Info = info
	}
	s.d.updatedAt = r.now()
}

// readHistory reads the site's day totals (entity.SiteTotals); on the
// first read of a new local day it first closes the previous day.
func (s *site) readHistory(ctx context.Context) {
	r := s.r
	r.mu.Lock()
	loc, tz := entity.SiteLocation(s.v.Info)
	prev := s.v.Totals.Day
	r.mu.Unlock()
	now := r.now().In(loc)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	if yesterday := today.AddDate(0, 0, -1); prev == yesterday.Format(time.DateOnly) {
		if s.readDay(ctx, yesterday, tz) {
			r.host.State(s.d, false)
		}
	}
	s.readDay(ctx, today, tz)
}

// readDay reads one local day and merges it; it reports a change.
func (s *site) readDay(ctx context.Context, day time.Time, tz string) bool {
	r := s.r
	h, err := r.fleet.CalendarHistory(ctx, s.v.ID, fleet.HistoryQuery{
		Kind: fleet.HistoryKindEnergy, Period: fleet.PeriodDay, TimeZone: tz,
		Start: day, End: day.AddDate(0, 0, 1).Add(-time.Second),
	})
	if err != nil {
		r.reads.LogFor(err).Err(err).Str("device", s.d.name).Msg("calendar_history failed; keeping the last totals")
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return s.v.Totals.Merge(day.Format(time.DateOnly), entity.SiteDayTotals(h))
}

// syncWallConnectors creates devices for connectors seen for the first time
// (numbered in DIN order, so the same set always gets the same names) and
// brings the others up to the site's last read. It returns the new ones and
// the existing ones. Callers hold r.mu.
func (s *site) syncWallConnectors() (added, existing []*Device) {
	r, d := s.r, s.d
	if s.wallConnectors == nil {
		s.wallConnectors = map[string]*Device{}
	}
	var fresh []string
	for _, din := range entity.WallConnectorDINs(s.v) {
		if wc := s.wallConnectors[din]; wc != nil {
			wc.updatedAt = d.updatedAt
			existing = append(existing, wc)
			continue
		}
		fresh = append(fresh, din)
	}
	sort.Strings(fresh)
	for _, din := range fresh {
		n := strconv.Itoa(len(s.wallConnectors) + 1)
		name := d.name + wcSep + n
		uid := entity.Sanitize(din)
		if r.devices[name] != nil {
			name = d.name + wcSep + uid
		}
		if r.devices[name] != nil || r.byUID[uid] != nil {
			r.log.Warn().Str("din", din).Str("device", name).Msg("wall connector name taken; not bridged")
			continue
		}
		w := &wallConnector{parent: d, readLive: func(ctx context.Context) { s.poll(ctx, false) },
			v: &entity.WallConnectorView{Site: s.v, DIN: din}}
		w.hd = entity.WallConnectorDevice(d.hassDevice, d.name, n, w.v, uid)
		wc := newDevice(name, uid, w)
		wc.updatedAt = d.updatedAt
		r.bind(wc)
		s.wallConnectors[din] = wc
		r.register(wc)
		added = append(added, wc)
	}
	return added, existing
}

// publishWallConnectors publishes new connectors whole and the others'
// state; called after the site itself was published, so HA knows the
// via_device before the connectors refer to it.
func (s *site) publishWallConnectors() {
	r := s.r
	r.mu.Lock()
	added, existing := s.syncWallConnectors()
	r.mu.Unlock()
	for _, wc := range added {
		r.log.Info().Str("device", wc.name).Str("din", wc.hassDevice.SerialNumber).Msg("wall connector added")
		r.host.Added(wc)
	}
	for _, wc := range existing {
		r.host.State(wc, false)
	}
	if len(added) > 0 {
		r.host.Info()
	}
}
