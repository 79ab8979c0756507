package flight

import (
	"os"
	"os/user"
)

// EnvActor is the environment variable naming who makes a change.
const EnvActor = "DEVUPDATE_ACTOR"

// Actor returns who makes a change, for the audit trail: explicit (a flag)
// when not empty, else DEVUPDATE_ACTOR, else the CI's own variables
// (GitHub Actions: GITHUB_ACTOR and the workflow run; Azure Pipelines:
// BUILD_REQUESTEDFOREMAIL or BUILD_REQUESTEDFOR and the build), else
// user@host.
func Actor(explicit string, getenv func(string) string) string {
	switch {
	case explicit != "":
		return explicit
	case getenv(EnvActor) != "":
		return getenv(EnvActor)
	case getenv("GITHUB_ACTIONS") == "true" && getenv("GITHUB_ACTOR") != "":
		a := getenv("GITHUB_ACTOR") + " (GitHub Actions"
		if repo, run := getenv("GITHUB_REPOSITORY"), getenv("GITHUB_RUN_ID"); repo != "" && run != "" {
			a += " " + repo + " run " + run
		}
		return a + ")"
	case getenv("TF_BUILD") == "True" && (getenv("BUILD_REQUESTEDFOREMAIL") != "" || getenv("BUILD_REQUESTEDFOR") != ""):
		who := getenv("BUILD_REQUESTEDFOREMAIL")
		if who == "" {
			who = getenv("BUILD_REQUESTEDFOR")
		}
		a := who + " (Azure Pipelines"
		if b := getenv("BUILD_BUILDID"); b != "" {
			a += " build " + b
		}
		return a + ")"
	}
	name := "unknown"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown-host"
	}
	return name + "@" + host
}
