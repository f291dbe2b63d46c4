package fleetsim

import (
	"fmt"
)

// Controls for long-running fault tests (the soak): a car that leaves the
// account for a while and comes back, as when it is transferred, removed
// from the owner's account by mistake, or hidden by a Tesla hiccup.

// hiddenCar is a car taken out of the account and where it stood in it.
type hiddenCar struct {
	v     *vehicleSim
	index int
}

// hidden returns the Sim's hidden cars, creating the map. Callers hold s.mu.
func (s *Sim) hidden() map[string]hiddenCar {
	if s.hiddenCars == nil {
		s.hiddenCars = map[string]hiddenCar{}
	}
	return s.hiddenCars
}

// HideVehicle takes a car out of the account: products and the vehicle
// list no longer show it and every request for it answers 404, as Tesla
// does for a car the token's user no longer has. Time goes on for it: when
// ShowVehicle brings it back, its physics and the scripted events that fell
// due meanwhile catch up, in order. Hiding a hidden car is a no-op.
func (s *Sim) HideVehicle(vin string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.hidden()[vin]; ok {
		return nil
	}
	s.advanceLocked(s.clock.Now())
	for i, v := range s.vehicles {
		if v.snap.VIN == vin {
			s.hidden()[vin] = hiddenCar{v: v, index: i}
			s.vehicles = append(s.vehicles[:i:i], s.vehicles[i+1:]...)
			return nil
		}
	}
	return fmt.Errorf("fleetsim: unknown vehicle %q", vin)
}

// ShowVehicle returns a hidden car to the account at its old place in the
// lists. Showing a car that is not hidden is a no-op.
func (s *Sim) ShowVehicle(vin string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok := s.hidden()[vin]
	if !ok {
		return
	}
	delete(s.hidden(), vin)
	i := min(h.index, len(s.vehicles))
	s.vehicles = append(s.vehicles[:i:i], append([]*vehicleSim{h.v}, s.vehicles[i:]...)...)
}

// HiddenVehicles returns the VINs of the cars hidden with HideVehicle.
func (s *Sim) HiddenVehicles() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.hidden()))
	for vin := range s.hidden() {
		out = append(out, vin)
	}
	return out
}
