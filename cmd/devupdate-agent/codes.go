package main

import (
	"github.com/devupdate/devupdate/cmd/internal/cli"
	"github.com/devupdate/devupdate/internal/agent"
)

// codes are the agent's error codes (agent.Codes: the same vocabulary its
// reports use); cli.Common follows. They are device-side only.
var codes = func() cli.Codes {
	var cs cli.Codes
	for _, c := range agent.Codes {
		cs = append(cs, cli.Is(c.Err, c.Code))
	}
	return cs
}()
