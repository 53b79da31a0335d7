using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

// The namespace of the hosting builders, so every service finds these defaults without a using.
namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Defaults every CloudApp service shares: OpenTelemetry (logs, traces, metrics with a Prometheus
/// scraping endpoint and optional OTLP export), health checks, resilience and service discovery.
/// </summary>
public static class ServiceDefaultsExtensions
{
    /// <summary>Readiness: every registered health check must pass. Kubernetes readiness probe.</summary>
    public const string HealthPath = "/health";

    /// <summary>Liveness: only checks tagged <see cref="LiveTag"/>. Kubernetes liveness and startup probes.</summary>
    public const string AlivePath = "/alive";

    /// <summary>Prometheus text exposition of every metric the service records.</summary>
    public const string MetricsPath = "/metrics";

    /// <summary>Tag of the health checks that decide liveness.</summary>
    public const string LiveTag = "live";

    /// <summary>
    /// Meters recorded besides the instrumentation libraries' own. Kept here so docs/metrics.md's list and
    /// the exporter cannot drift apart silently: the metric tests scrape what these produce.
    /// </summary>
    private static readonly string[] FrameworkMeters =
    [
        "Microsoft.AspNetCore.Routing",
        "Microsoft.AspNetCore.Diagnostics",
        "Microsoft.Extensions.Diagnostics.ResourceMonitoring",
    ];

    /// <summary>
    /// Adds OpenTelemetry, health checks, service discovery and HttpClient resilience.
    /// Setting <c>OTEL_SDK_DISABLED=true</c> leaves OpenTelemetry out entirely (instruments then cost nothing).
    /// </summary>
    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        if (!IsTelemetryDisabled(builder))
        {
            builder.ConfigureOpenTelemetry();
        }

        builder.AddDefaultHealthChecks();

        builder.Services.AddServiceDiscovery();
        builder.Services.ConfigureHttpClientDefaults(http =>
        {
            http.AddStandardResilienceHandler();
            http.AddServiceDiscovery();
        });

        return builder;
    }

    /// <summary>
    /// Configures OpenTelemetry: metrics, served at <see cref="MetricsPath"/>; and, when
    /// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (as the Aspire AppHost does), traces and logs, all exported over OTLP.
    /// </summary>
    public static TBuilder ConfigureOpenTelemetry<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        // CPU and memory utilization against the container's cgroup limits (or the host's when none is set).
        builder.Services.AddResourceMonitoring();

        var otel = builder.Services.AddOpenTelemetry();
        if (string.IsNullOrWhiteSpace(builder.Configuration["OTEL_SERVICE_NAME"]))
        {
            // The AppHost names services through OTEL_SERVICE_NAME; standalone runs are named after the application.
            otel.ConfigureResource(resource => resource.AddService(builder.Environment.ApplicationName));
        }

        // Metrics always: Prometheus pulls them from /metrics.
        otel.WithMetrics(metrics => metrics
            .AddAspNetCoreInstrumentation()
            .AddHttpClientInstrumentation()
            .AddRuntimeInstrumentation()
            .AddMeter(FrameworkMeters)
            .AddPrometheusExporter());

        // Traces and logs only go out over OTLP. Without an endpoint (a plain Kubernetes deployment) recording them
        // would cost every request an activity and its tags for nothing; with one (the Aspire dashboard) they flow.
        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            builder.Logging.AddOpenTelemetry(logging =>
            {
                logging.IncludeFormattedMessage = true;
                logging.IncludeScopes = true;
            });
            otel.WithTracing(tracing => tracing
                    .AddSource(builder.Environment.ApplicationName)
                    .AddAspNetCoreInstrumentation(aspnet => aspnet.Filter = context => !IsInfrastructureRequest(context.Request.Path))
                    .AddHttpClientInstrumentation())
                .UseOtlpExporter();
        }

        return builder;
    }

    /// <summary>Registers a liveness check that only says the process answers.</summary>
    public static TBuilder AddDefaultHealthChecks<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        builder.Services.AddHealthChecks()
            .AddCheck("self", () => HealthCheckResult.Healthy(), [LiveTag]);

        return builder;
    }

    /// <summary>
    /// Maps <see cref="HealthPath"/>, <see cref="AlivePath"/> and <see cref="MetricsPath"/> in every environment:
    /// Kubernetes probes and Prometheus need them in Production as much as in Development.
    /// </summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        app.MapHealthChecks(HealthPath);
        app.MapHealthChecks(AlivePath, new HealthCheckOptions { Predicate = check => check.Tags.Contains(LiveTag) });

        if (!IsTelemetryDisabled(app))
        {
            app.MapPrometheusScrapingEndpoint(MetricsPath);
        }

        return app;
    }

    private static bool IsInfrastructureRequest(PathString path) =>
        path.StartsWithSegments(HealthPath) || path.StartsWithSegments(AlivePath) || path.StartsWithSegments(MetricsPath);

    private static bool IsTelemetryDisabled(IHostApplicationBuilder builder) =>
        IsTrue(builder.Configuration["OTEL_SDK_DISABLED"]);

    private static bool IsTelemetryDisabled(WebApplication app) =>
        IsTrue(app.Configuration["OTEL_SDK_DISABLED"]);

    private static bool IsTrue(string? value) => bool.TryParse(value, out var result) && result;
}
