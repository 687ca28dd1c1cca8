package route53

import (
	"github.com/coredns/coredns/plugin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

const subsystem = "clusterzone"

var (
	// changesCount counts the changes Route 53 accepted, by action and type.
	changesCount = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: subsystem,
		Name:      "route53_changes_total",
		Help:      "Counter of record changes applied to Route 53, by action (CREATE, UPSERT, DELETE) and record type.",
	}, []string{"action", "type"})

	// errorsCount counts errors and retries by kind.
	errorsCount = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: subsystem,
		Name:      "route53_errors_total",
		Help:      "Counter of Route 53 mirror errors by kind (throttled, server_error, request, list, change, invalid_change, conflict, txt_outside_zone).",
	}, []string{"kind"})

	// lastSync is the time of the last successful sync per zone.
	lastSync = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: plugin.Namespace,
		Subsystem: subsystem,
		Name:      "route53_last_sync_timestamp_seconds",
		Help:      "Unix time of the last successful sync (full or event-driven) of each hosted zone.",
	}, []string{"zone"})

	// ownedRecords is the number of A and AAAA record sets the mirror owns.
	ownedRecords = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: plugin.Namespace,
		Subsystem: subsystem,
		Name:      "route53_records_owned",
		Help:      "Gauge of A and AAAA record sets in each hosted zone owned by this owner id.",
	}, []string{"zone"})

	// leaderGauge is 1 while this replica holds the lease and mirrors.
	leaderGauge = promauto.NewGauge(prometheus.GaugeOpts{
		Namespace: plugin.Namespace,
		Subsystem: subsystem,
		Name:      "route53_leader",
		Help:      "1 while this replica is the leader that writes to Route 53, 0 otherwise.",
	})

	// syncDuration is the duration of syncs by kind.
	syncDuration = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: plugin.Namespace,
		Subsystem: subsystem,
		Name:      "route53_sync_duration_seconds",
		Help:      "Histogram of the time a sync took, by kind (full, event).",
		Buckets:   prometheus.ExponentialBuckets(0.05, 2, 14),
	}, []string{"kind"})
)
