// Package bridge joins the Fleet API and MQTT. It owns the entity tables (one
// typed table per device kind), the polling jobs and their cron schedules,
// the device state objects and their Home Assistant discovery, and the
// handling of requests that arrive over MQTT. It is the only package that
// knows both "charge_state" and "number entity".
package bridge
