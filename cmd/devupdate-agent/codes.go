package main

import (
	"github.com/devupdate/devupdate/cmd/internal/cli"
	"github.com/devupdate/devupdate/cmd/internal/smbioscodes"
	"github.com/devupdate/devupdate/internal/agent"
)

// codes are the error codes of the libraries the agent links: the
// agent's (agent.Codes, the vocabulary its reports use too), then
// package smbios's (smbioscodes, shared with devupdate); cli.Common
// follows. They are device-side only.
var codes = append(cli.Table(agent.Codes), smbioscodes.Codes...)
