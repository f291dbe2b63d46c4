package fleet

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Pagination of GET /api/1/vehicles. The page cap bounds a misbehaving
// server that keeps returning full pages; 5,000 cars is far beyond a home.
const (
	vehiclesPerPage = 100
	maxVehiclePages = 50
)

// errEmptyVIN guards against an empty VIN turning /vehicles/{vin} into the
// (differently shaped) vehicle list.
var errEmptyVIN = errors.New("fleet: empty VIN")

// vehiclePath returns /api/1/vehicles/{vin}{suffix} with the VIN escaped.
func vehiclePath(vin, suffix string) (string, error) {
	if vin == "" {
		return "", errEmptyVIN
	}
	return "/api/1/vehicles/" + url.PathEscape(vin) + suffix, nil
}

// Products lists the account's vehicles and energy sites (GET /api/1/products).
func (c *Client) Products(ctx context.Context) ([]Product, error) {
	var out []Product
	err := c.do(ctx, call{method: http.MethodGet, endpoint: CallProducts,
		path: "/api/1/products", out: &out, nullOK: true})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Vehicles lists the account's vehicles with their state, without waking
// them. It follows pagination: a full page means there may be another.
func (c *Client) Vehicles(ctx context.Context) ([]Vehicle, error) {
	var all []Vehicle
	for page := 1; page <= maxVehiclePages; page++ {
		var batch []Vehicle
		q := url.Values{"page": {strconv.Itoa(page)}, "per_page": {strconv.Itoa(vehiclesPerPage)}}
		err := c.do(ctx, call{method: http.MethodGet, endpoint: CallVehicles,
			path: "/api/1/vehicles", query: q, out: &batch, nullOK: true})
		if err != nil {
			return nil, err
		}
		all = append(all, batch...)
		if len(batch) < vehiclesPerPage {
			break
		}
	}
	return all, nil
}

// Vehicle returns one vehicle (GET /api/1/vehicles/{vin}): the cheap way to
// read its state without waking it.
func (c *Client) Vehicle(ctx context.Context, vin string) (*Vehicle, error) {
	path, err := vehiclePath(vin, "")
	if err != nil {
		return nil, err
	}
	var out Vehicle
	if err := c.do(ctx, call{method: http.MethodGet, endpoint: CallVehicle, device: vin,
		path: path, out: &out}); err != nil {
		return nil, err
	}
	return &out, nil
}

// VehicleData fetches live data from an online car. endpoints selects the
// blocks (location needs LocationData explicitly); an empty list asks for
// Tesla's default bundle. A sleeping car yields ErrAsleep (and is billed).
func (c *Client) VehicleData(ctx context.Context, vin string, endpoints []Endpoint) (*VehicleData, error) {
	path, err := vehiclePath(vin, "/vehicle_data")
	if err != nil {
		return nil, err
	}
	var q url.Values
	if len(endpoints) > 0 {
		names := make([]string, len(endpoints))
		for i, e := range endpoints {
			names[i] = string(e)
		}
		q = url.Values{"endpoints": {strings.Join(names, ";")}}
	}
	var out VehicleData
	if err := c.do(ctx, call{method: http.MethodGet, endpoint: CallVehicleData, device: vin,
		path: path, query: q, out: &out}); err != nil {
		return nil, err
	}
	return &out, nil
}

// WakeUp asks a car to wake (POST …/wake_up), the most expensive call. The
// returned state is usually still "asleep": poll Vehicle until "online".
func (c *Client) WakeUp(ctx context.Context, vin string) (*Vehicle, error) {
	path, err := vehiclePath(vin, "/wake_up")
	if err != nil {
		return nil, err
	}
	var out Vehicle
	if err := c.do(ctx, call{method: http.MethodPost, endpoint: CallWakeUp, device: vin,
		path: path, out: &out}); err != nil {
		return nil, err
	}
	return &out, nil
}

// Command sends an unsigned REST command (POST …/command/{name}) with params
// as the JSON body. Only cars that do not require the Vehicle Command
// Protocol accept it; others answer ErrProtocolRequired. A refusal by the
// car is not an error: it comes back as Result false with a Reason.
func (c *Client) Command(ctx context.Context, vin, name string, params map[string]any) (*CommandResult, error) {
	if name == "" {
		return nil, errors.New("fleet: empty command name")
	}
	path, err := vehiclePath(vin, "/command/"+url.PathEscape(name))
	if err != nil {
		return nil, err
	}
	if params == nil {
		// Tesla wants a JSON object even for commands without parameters.
		params = map[string]any{}
	}
	var out CommandResult
	if err := c.do(ctx, call{method: http.MethodPost, endpoint: CallCommand, device: vin,
		path: path, body: params, out: &out}); err != nil {
		return nil, err
	}
	return &out, nil
}

// FleetStatus reports key pairing and protocol requirements for vins
// (POST /api/1/vehicles/fleet_status). Tesla recommends one VIN per call.
func (c *Client) FleetStatus(ctx context.Context, vins []string) (*FleetStatus, error) {
	if vins == nil {
		vins = []string{} // send [], not null
	}
	device := ""
	if len(vins) == 1 {
		device = vins[0]
	}
	var out FleetStatus
	if err := c.do(ctx, call{method: http.MethodPost, endpoint: CallFleetStatus, device: device,
		path: "/api/1/vehicles/fleet_status", body: map[string]any{"vins": vins}, out: &out}); err != nil {
		return nil, err
	}
	return &out, nil
}

// UserRegion asks which regional host serves the account
// (GET /api/1/users/region); any host answers it.
func (c *Client) UserRegion(ctx context.Context) (*Region, error) {
	var out Region
	if err := c.do(ctx, call{method: http.MethodGet, endpoint: CallUsersRegion,
		path: "/api/1/users/region", out: &out}); err != nil {
		return nil, err
	}
	return &out, nil
}
