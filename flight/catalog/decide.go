package catalog

import (
	"slices"

	"github.com/devupdate/devupdate/smbios"
)

// Device is what a device knows about itself when it decides.
type Device struct {
	// ID is the device's stable rollout identity.
	ID string
	// CHIDs are the hardware IDs it computes from its SMBIOS.
	CHIDs []smbios.CHID
	// Installed maps package names to the installed version.
	Installed map[string]Version
}

// Reason says why an entry is not offered ("" when it is).
type Reason string

// The reasons, in the order Decide checks them.
const (
	Offered           Reason = ""
	ReasonHalted      Reason = "halted"
	ReasonPaused      Reason = "paused"
	ReasonNoCHID      Reason = "no matching CHID"
	ReasonInstalled   Reason = "version not higher than installed"
	ReasonRequirement Reason = "requirement not met"
	ReasonRollout     Reason = "outside the rollout"
)

// Decision is Decide's answer.
type Decision struct {
	Offered bool
	Reason  Reason
	// Requirement is the unmet requirement (ReasonRequirement only).
	Requirement *Requirement
}

// Decide applies the rules by which a device decides whether entry e of its
// ring is offered to it: not halted, not paused, one of its CHIDs targeted,
// a version higher than the installed one (or lower, only for an entry
// marked as a downgrade), every requirement met by what is installed, and
// the device inside the rollout percentage.
func Decide(e *Entry, d Device) Decision {
	no := func(r Reason) Decision { return Decision{Reason: r} }
	switch e.Rollout.State {
	case Halted:
		return no(ReasonHalted)
	case Paused:
		return no(ReasonPaused)
	}
	if !slices.ContainsFunc(e.Targets, func(c smbios.CHID) bool { return slices.Contains(d.CHIDs, c) }) {
		return no(ReasonNoCHID)
	}
	if have, ok := d.Installed[e.Name]; ok {
		c := e.Version.Compare(have)
		if c == 0 || (c < 0 && !e.Downgrade) {
			return no(ReasonInstalled)
		}
	}
	for _, r := range e.Requires {
		if have, ok := d.Installed[r.Name]; !ok || have.Compare(r.MinVersion) < 0 {
			return Decision{Reason: ReasonRequirement, Requirement: &r}
		}
	}
	if !InRollout(d.ID, e.Name, e.Version, e.Rollout.Percent) {
		return no(ReasonRollout)
	}
	return Decision{Offered: true}
}
