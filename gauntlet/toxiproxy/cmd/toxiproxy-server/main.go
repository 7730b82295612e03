// Command toxiproxy-server is Toxiproxy's server with gauntlet's HTTP toxics registered
// (http_status, http_first_byte), built against the Toxiproxy release go.mod pins. Its flags
// and API are Toxiproxy's own; -version also names the toxics' revision, so gauntlet can tell
// this build from a stock one.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/rs/zerolog/log"

	"github.com/Shopify/toxiproxy/v2"
	"github.com/Shopify/toxiproxy/v2/collectors"

	_ "gauntlet.local/toxiproxy/httptoxics"
)

// Revision is stamped at build time (-ldflags -X main.Revision=…) with the digest of the
// sources gauntlet built it from, so gauntlet can tell an older build from its own.
var Revision = "unstamped"

func main() {
	host := flag.String("host", "localhost", "Host for toxiproxy's API to listen on")
	port := flag.String("port", "8474", "Port for toxiproxy's API to listen on")
	config := flag.String("config", "", "JSON file containing proxies to create on startup")
	// accepted as upstream's server accepts it; there it seeds a generator nobody uses, and
	// Go 1.20+ seeds the global source by itself
	_ = flag.Int64("seed", time.Now().UTC().UnixNano(), "Seed for randomizing toxics with")
	runtimeMetrics := flag.Bool("runtime-metrics", false, "enable runtime-related prometheus metrics")
	proxyMetrics := flag.Bool("proxy-metrics", false, "enable toxiproxy-specific prometheus metrics")
	version := flag.Bool("version", false, "print the version")
	flag.Parse()
	if *version {
		fmt.Printf("toxiproxy-server version %s (gauntlet http toxics %s)\n", toxiproxy.Version, Revision)
		return
	}
	logger := zerolog.New(os.Stdout).With().Timestamp().Logger()
	if level, ok := os.LookupEnv("LOG_LEVEL"); ok {
		if parsed, err := zerolog.ParseLevel(level); err == nil {
			logger = logger.Level(parsed)
		}
	}
	log.Logger = logger
	logger.Info().Str("version", toxiproxy.Version).Str("http_toxics", Revision).Msg("Starting Toxiproxy")

	server := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), logger)
	if *proxyMetrics {
		server.Metrics.ProxyMetrics = collectors.NewProxyMetricCollectors()
	}
	if *runtimeMetrics {
		server.Metrics.RuntimeMetrics = collectors.NewRuntimeMetricCollectors()
	}
	if *config != "" {
		server.PopulateConfig(*config)
	}
	go func() {
		if err := server.Listen(net.JoinHostPort(*host, *port)); err != nil {
			server.Logger.Err(err).Msg("Server finished with error")
		}
	}()
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	<-signals
	if err := server.Shutdown(); err != nil {
		logger.Err(err).Msg("Shutdown finished with error")
	}
}
