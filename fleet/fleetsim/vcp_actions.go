package fleetsim

// What a verified signed command does: the protobuf action is translated
// back into the REST command's name and JSON arguments and run by the same
// cmd* function as the REST route, so both paths change the simulated car
// identically.

import (
	"google.golang.org/protobuf/proto"

	carserver "github.com/teslamotors/vehicle-command/pkg/protocol/protobuf/carserver"
	verrors "github.com/teslamotors/vehicle-command/pkg/protocol/protobuf/errors"
	"github.com/teslamotors/vehicle-command/pkg/protocol/protobuf/vcsec"
)

// vcpUnsupported is the reason for actions the simulator does not play.
const vcpUnsupported = "not supported by fleetsim"

// vcpCommand is one translated action: the REST command function and its arguments.
type vcpCommand struct {
	fn   func(*vehicleCmd) (bool, string)
	args map[string]any
	wake bool // the body controller's wake: not the car's own activity
}

// run applies the command to the car; a nil fn is an unsupported action.
func (c vcpCommand) run(s *Sim, r *request, v *vehicleSim) (bool, string) {
	if c.fn == nil {
		return false, vcpUnsupported
	}
	if c.args == nil {
		c.args = map[string]any{}
	}
	return c.fn(&vehicleCmd{S: s, R: r, V: v, Args: c.args})
}

// runInfotainment answers a CarServer.Action with a CarServer.Response.
func runInfotainment(s *Sim, r *request, v *vehicleSim, plain []byte) []byte {
	var action carserver.Action
	result, reason := false, "decoding"
	var data *carserver.VehicleData
	if proto.Unmarshal(plain, &action) == nil {
		if get := action.GetVehicleAction().GetGetVehicleData(); get != nil {
			// GetState: a read, which keeps an awake car awake like vehicle_data.
			data, result = v.stateProto(r.Now, get), true
			s.bleTouch(r, v, "get_state", false)
		} else {
			result, reason = infotainmentCommand(action.GetVehicleAction()).run(s, r, v)
			s.bleTouch(r, v, "command", true)
		}
	}
	status := &carserver.ActionStatus{Result: carserver.OperationStatus_E_OPERATIONSTATUS_OK}
	if !result {
		status.Result = carserver.OperationStatus_E_OPERATIONSTATUS_ERROR
		status.ResultReason = &carserver.ResultReason{Reason: &carserver.ResultReason_PlainText{PlainText: reason}}
	}
	resp := &carserver.Response{ActionStatus: status}
	if data != nil {
		resp.ResponseMsg = &carserver.Response_VehicleData{VehicleData: data}
	}
	out, _ := proto.Marshal(resp)
	return out
}

// runVCSEC answers a VCSEC.UnsignedMessage: an empty FromVCSECMessage on
// success, a nominal error otherwise (protocol.md, VCSEC responses).
func runVCSEC(s *Sim, r *request, v *vehicleSim, plain []byte) []byte {
	var msg vcsec.UnsignedMessage
	var cmd vcpCommand
	if proto.Unmarshal(plain, &msg) == nil {
		cmd = vcsecCommand(&msg)
	}
	var reply vcsec.FromVCSECMessage
	kind := "command"
	if cmd.wake {
		kind = "wake"
	}
	s.bleTouch(r, v, kind, !cmd.wake)
	if result, _ := cmd.run(s, r, v); !result {
		reply.SubMessage = &vcsec.FromVCSECMessage_NominalError{NominalError: &verrors.NominalError{
			GenericError: verrors.GenericError_E_GENERICERROR_UNKNOWN}}
	}
	out, _ := proto.Marshal(&reply)
	return out
}

func vcsecCommand(m *vcsec.UnsignedMessage) vcpCommand {
	switch sub := m.GetSubMessage().(type) {
	case *vcsec.UnsignedMessage_RKEAction:
		switch sub.RKEAction {
		case vcsec.RKEAction_E_RKE_ACTION_LOCK:
			return vcpCommand{fn: cmdDoorLock}
		case vcsec.RKEAction_E_RKE_ACTION_UNLOCK:
			return vcpCommand{fn: cmdDoorUnlock}
		case vcsec.RKEAction_E_RKE_ACTION_WAKE_VEHICLE:
			return vcpCommand{fn: cmdRKEWake, wake: true}
		}
	case *vcsec.UnsignedMessage_ClosureMoveRequest:
		c := sub.ClosureMoveRequest
		switch {
		case c.GetRearTrunk() == vcsec.ClosureMoveType_E_CLOSURE_MOVE_TYPE_MOVE:
			return vcpCommand{fn: cmdActuateTrunk, args: map[string]any{"which_trunk": "rear"}}
		case c.GetFrontTrunk() == vcsec.ClosureMoveType_E_CLOSURE_MOVE_TYPE_MOVE:
			return vcpCommand{fn: cmdActuateTrunk, args: map[string]any{"which_trunk": "front"}}
		}
	}
	return vcpCommand{}
}

// infotainmentCommand maps the vehicle actions behind the REST commands the
// simulator knows (proxy.ExtractCommandAction's translation, reversed).
func infotainmentCommand(a *carserver.VehicleAction) vcpCommand {
	switch m := a.GetVehicleActionMsg().(type) {
	case *carserver.VehicleAction_ChargingSetLimitAction:
		return vcpCommand{fn: cmdSetChargeLimit, args: map[string]any{"percent": float64(m.ChargingSetLimitAction.GetPercent())}}
	case *carserver.VehicleAction_ChargingStartStopAction:
		switch m.ChargingStartStopAction.GetChargingAction().(type) {
		case *carserver.ChargingStartStopAction_Start:
			return vcpCommand{fn: cmdChargeStart}
		case *carserver.ChargingStartStopAction_Stop:
			return vcpCommand{fn: cmdChargeStop}
		}
	case *carserver.VehicleAction_SetChargingAmpsAction:
		return vcpCommand{fn: cmdSetChargingAmps, args: map[string]any{"charging_amps": float64(m.SetChargingAmpsAction.GetChargingAmps())}}
	case *carserver.VehicleAction_ChargePortDoorOpen:
		return vcpCommand{fn: cmdChargePortOpen}
	case *carserver.VehicleAction_ChargePortDoorClose:
		return vcpCommand{fn: cmdChargePortClose}
	case *carserver.VehicleAction_HvacAutoAction:
		if m.HvacAutoAction.GetPowerOn() {
			return vcpCommand{fn: cmdClimateStart}
		}
		return vcpCommand{fn: cmdClimateStop}
	case *carserver.VehicleAction_HvacTemperatureAdjustmentAction:
		t := m.HvacTemperatureAdjustmentAction
		return vcpCommand{fn: cmdSetTemps, args: map[string]any{
			"driver_temp": float64(t.GetDriverTempCelsius()), "passenger_temp": float64(t.GetPassengerTempCelsius())}}
	case *carserver.VehicleAction_HvacSetPreconditioningMaxAction:
		return vcpCommand{fn: cmdPreconditioningMax, args: map[string]any{"on": m.HvacSetPreconditioningMaxAction.GetOn()}}
	case *carserver.VehicleAction_HvacSeatHeaterActions:
		return seatHeaterCommand(m.HvacSeatHeaterActions)
	case *carserver.VehicleAction_HvacSteeringWheelHeaterAction:
		return vcpCommand{fn: cmdSteeringWheelHeater, args: map[string]any{"on": m.HvacSteeringWheelHeaterAction.GetPowerOn()}}
	case *carserver.VehicleAction_HvacClimateKeeperAction:
		return vcpCommand{fn: cmdClimateKeeper, args: map[string]any{
			"climate_keeper_mode": float64(m.HvacClimateKeeperAction.GetClimateKeeperAction())}}
	case *carserver.VehicleAction_SetCabinOverheatProtectionAction:
		c := m.SetCabinOverheatProtectionAction
		return vcpCommand{fn: cmdCabinOverheat, args: map[string]any{"on": c.GetOn(), "fan_only": c.GetFanOnly()}}
	case *carserver.VehicleAction_VehicleControlSetSentryModeAction:
		return vcpCommand{fn: cmdSentry, args: map[string]any{"on": m.VehicleControlSetSentryModeAction.GetOn()}}
	case *carserver.VehicleAction_VehicleControlWindowAction:
		// The protocol carries no position; the REST function wants one.
		args := map[string]any{"lat": 0.0, "lon": 0.0}
		switch m.VehicleControlWindowAction.GetAction().(type) {
		case *carserver.VehicleControlWindowAction_Vent:
			args["command"] = "vent"
		case *carserver.VehicleControlWindowAction_Close:
			args["command"] = "close"
		}
		return vcpCommand{fn: cmdWindowControl, args: args}
	case *carserver.VehicleAction_VehicleControlFlashLightsAction:
		return vcpCommand{fn: cmdFlashLights}
	case *carserver.VehicleAction_VehicleControlHonkHornAction:
		return vcpCommand{fn: cmdHonkHorn}
	}
	return vcpCommand{}
}

// seatHeaterCommand takes the first seat of the action (the SDK's REST
// translation sends exactly one) in the REST seat_position numbering.
func seatHeaterCommand(h *carserver.HvacSeatHeaterActions) vcpCommand {
	acts := h.GetHvacSeatHeaterAction()
	if len(acts) == 0 {
		return vcpCommand{}
	}
	a := acts[0]
	pos := -1
	switch a.GetSeatPosition().(type) {
	case *carserver.HvacSeatHeaterActions_HvacSeatHeaterAction_CAR_SEAT_FRONT_LEFT:
		pos = 0
	case *carserver.HvacSeatHeaterActions_HvacSeatHeaterAction_CAR_SEAT_FRONT_RIGHT:
		pos = 1
	case *carserver.HvacSeatHeaterActions_HvacSeatHeaterAction_CAR_SEAT_REAR_LEFT:
		pos = 2
	case *carserver.HvacSeatHeaterActions_HvacSeatHeaterAction_CAR_SEAT_REAR_LEFT_BACK:
		pos = 3
	case *carserver.HvacSeatHeaterActions_HvacSeatHeaterAction_CAR_SEAT_REAR_CENTER:
		pos = 4
	case *carserver.HvacSeatHeaterActions_HvacSeatHeaterAction_CAR_SEAT_REAR_RIGHT:
		pos = 5
	case *carserver.HvacSeatHeaterActions_HvacSeatHeaterAction_CAR_SEAT_REAR_RIGHT_BACK:
		pos = 6
	case *carserver.HvacSeatHeaterActions_HvacSeatHeaterAction_CAR_SEAT_THIRD_ROW_LEFT:
		pos = 7
	case *carserver.HvacSeatHeaterActions_HvacSeatHeaterAction_CAR_SEAT_THIRD_ROW_RIGHT:
		pos = 8
	}
	level := -1
	switch a.GetSeatHeaterLevel().(type) {
	case *carserver.HvacSeatHeaterActions_HvacSeatHeaterAction_SEAT_HEATER_OFF:
		level = 0
	case *carserver.HvacSeatHeaterActions_HvacSeatHeaterAction_SEAT_HEATER_LOW:
		level = 1
	case *carserver.HvacSeatHeaterActions_HvacSeatHeaterAction_SEAT_HEATER_MED:
		level = 2
	case *carserver.HvacSeatHeaterActions_HvacSeatHeaterAction_SEAT_HEATER_HIGH:
		level = 3
	}
	return vcpCommand{fn: cmdSeatHeater, args: map[string]any{"seat_position": float64(pos), "level": float64(level)}}
}
