/**
 * The argument that starts the app's own binary as a VZ runner (one VM per process; see runnerCommand in ./index).
 * A leaf module, so the Electron main process can check its argv without loading the VZ backend.
 */
export const VZ_RUNNER_FLAG = '--nestbox-vz-runner';
