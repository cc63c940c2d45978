extension CommandLineOptions {
    /// The `--help` text (spec §1).
    public static let usage = """
        Lifeline \(LifelineVersion.string): a WebSocket keep-alive sidecar proxy.

        Usage:
          lifeline [--config FILE]                 run the proxy
          lifeline --check-config [--config FILE]  validate, print the effective configuration as JSON, exit
          lifeline demo [--duration SECONDS]       self-contained demonstration, no network needed
          lifeline --version                       print the version
          lifeline --help                          print this help

        FILE defaults to $LIFELINE_CONFIG, then ./config.json.
        Every configuration key can be overridden by an environment variable named
        LIFELINE_ + the key path upper-cased with '.' replaced by '_', e.g.
        LIFELINE_UPSTREAM_URL=wss://example.com/feed or LIFELINE_LOG_LEVEL=debug.
        Values are read as JSON when they parse, otherwise as strings.

        Exit codes: 0 clean exit, 2 invalid configuration or usage, 1 any other fatal error.
        Signals: SIGTERM/SIGINT drain and exit, SIGHUP reloads the configuration.

        """
}
