package fleet

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// sitePath returns /api/1/energy_sites/{id}/{name}.
func sitePath(siteID int64, name string) string {
	return "/api/1/energy_sites/" + strconv.FormatInt(siteID, 10) + "/" + url.PathEscape(name)
}

// LiveStatus returns the site's current power flows (GET …/live_status).
func (c *Client) LiveStatus(ctx context.Context, siteID int64) (*LiveStatus, error) {
	var out LiveStatus
	if err := c.do(ctx, call{method: http.MethodGet, endpoint: CallLiveStatus,
		device: strconv.FormatInt(siteID, 10), path: sitePath(siteID, "live_status"), out: &out}); err != nil {
		return nil, err
	}
	return &out, nil
}

// SiteInfo returns the site's configuration and settings (GET …/site_info).
func (c *Client) SiteInfo(ctx context.Context, siteID int64) (*SiteInfo, error) {
	var out SiteInfo
	if err := c.do(ctx, call{method: http.MethodGet, endpoint: CallSiteInfo,
		device: strconv.FormatInt(siteID, 10), path: sitePath(siteID, "site_info"), out: &out}); err != nil {
		return nil, err
	}
	return &out, nil
}

// CalendarHistory returns energy counters per bucket (GET …/calendar_history).
func (c *Client) CalendarHistory(ctx context.Context, siteID int64, q HistoryQuery) (*CalendarHistory, error) {
	v := url.Values{}
	kind := q.Kind
	if kind == "" {
		kind = HistoryKindEnergy
	}
	v.Set("kind", kind)
	if q.Period != "" {
		v.Set("period", q.Period)
	}
	if !q.Start.IsZero() {
		v.Set("start_date", q.Start.Format(time.RFC3339))
	}
	if !q.End.IsZero() {
		v.Set("end_date", q.End.Format(time.RFC3339))
	}
	if q.TimeZone != "" {
		v.Set("time_zone", q.TimeZone)
	}
	var out CalendarHistory
	if err := c.do(ctx, call{method: http.MethodGet, endpoint: CallCalendarHistory,
		device: strconv.FormatInt(siteID, 10), path: sitePath(siteID, "calendar_history"),
		query: v, out: &out}); err != nil {
		return nil, err
	}
	return &out, nil
}

// EnergyCommand posts body to POST /api/1/energy_sites/{id}/{name} (backup,
// operation, storm_mode, grid_import_export…). Any 2xx is success: the
// Fleet API's response body for these is undocumented, so it is not read.
func (c *Client) EnergyCommand(ctx context.Context, siteID int64, name string, body map[string]any) error {
	if name == "" {
		return errors.New("fleet: empty energy command name")
	}
	if body == nil {
		body = map[string]any{}
	}
	return c.do(ctx, call{method: http.MethodPost, endpoint: CallEnergyCommand,
		device: strconv.FormatInt(siteID, 10), path: sitePath(siteID, name), body: body})
}
