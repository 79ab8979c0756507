package agent

import (
	"context"

	"github.com/devupdate/devupdate/internal/agent/config"
	"github.com/devupdate/devupdate/internal/agent/state"
	"github.com/devupdate/devupdate/smbios"
)

// Device is what the agent knows of the machine it runs on.
type Device struct {
	// ID is the stable rollout identity.
	ID string `json:"id"`
	// IDSource says where ID comes from: "smbios" (the system UUID),
	// "generated" (made once, kept in the state directory) or "given".
	IDSource string `json:"id_source"`
	// Product is the targeting CHID that chooses the ring repository
	// (smbios.Fields.TargetingID, or the configured product_chid).
	Product smbios.CHID `json:"product_chid"`
	// CHIDs are the hardware IDs the device computes.
	CHIDs []smbios.CHID `json:"chids"`
	// Info is the SMBIOS read (nil for a device given in code).
	Info *smbios.Info `json:"-"`
}

// ReadDevice reads the device's SMBIOS (cfg.SMBIOS, else the running
// machine) and identity: the SMBIOS system UUID unless it is absent or a
// placeholder, else the identity generated once in cfg.StateDir.
func ReadDevice(ctx context.Context, cfg *config.Config) (*Device, error) {
	var info *smbios.Info
	var err error
	if cfg.SMBIOS != "" {
		info, err = smbios.ReadFile(ctx, cfg.SMBIOS)
	} else {
		info, err = smbios.ReadRunningMachine(ctx, "")
	}
	if err != nil {
		return nil, err
	}
	d := &Device{Info: info}
	for _, h := range info.HardwareIDs() {
		d.CHIDs = append(d.CHIDs, h.GUID)
	}
	switch h, ok := info.Fields.TargetingID(); {
	case cfg.ProductCHID != nil:
		d.Product = *cfg.ProductCHID
	case ok:
		d.Product = h.GUID
	default:
		return nil, ErrNoTargetingCHID
	}
	if u := info.SystemUUID; u != nil && !u.Placeholder() {
		d.ID, d.IDSource = u.String(), "smbios"
		return d, nil
	}
	if d.ID, err = state.Identity(ctx, cfg.StateDir); err != nil {
		return nil, err
	}
	d.IDSource = "generated"
	return d, nil
}
