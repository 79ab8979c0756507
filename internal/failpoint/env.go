package failpoint

// The environment a failpoint build reads (a release build reads none):
//   - EnvKill=NAME#N kills the process with SIGKILL the Nth time point
//     NAME is reached (N from 1);
//   - EnvTrace=FILE appends every point reached, as NAME#N, one per line.
const (
	EnvKill  = "DEVUPDATE_FAILPOINT"
	EnvTrace = "DEVUPDATE_FAILPOINT_TRACE"
)
