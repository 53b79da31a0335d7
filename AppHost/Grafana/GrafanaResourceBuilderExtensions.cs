using CloudApp.AppHost;
using CloudApp.AppHost.Grafana;
using CloudApp.AppHost.Kubernetes;
using CloudApp.AppHost.Prometheus;

namespace Aspire.Hosting;

public static class GrafanaResourceBuilderExtensions
{
    /// <summary>
    /// Adds a Grafana container provisioned from <paramref name="grafanaDirectory"/> (bind-mounted read-only):
    /// <c>provisioning/</c> (datasource, dashboard provider) and <c>dashboards/</c>. Anonymous visitors may view, not
    /// edit. Locally the admin signs in with <paramref name="adminPassword"/>. Published, no password is known: Grafana
    /// creates no admin account (never a default one) until the <c>grafana-admin</c> component of deploy/k8s gives it
    /// a Secret the user created. <paramref name="port"/> publishes the UI on that host port (none: a port the engine
    /// picks).
    /// </summary>
    public static IResourceBuilder<GrafanaResource> AddGrafana(
        this IDistributedApplicationBuilder builder, string name, ImageReference image, string grafanaDirectory,
        IResourceBuilder<ParameterResource> adminPassword, int? port = null)
    {
        var grafana = builder.AddResource(new GrafanaResource(name))
            .WithImage(image.Image, image.Tag)
            .WithImageRegistry(image.Registry)
            .WithHttpEndpoint(port: port, targetPort: GrafanaResource.Port, name: GrafanaResource.HttpEndpointName)
            .WithBindMount(Path.Combine(grafanaDirectory, "provisioning"), GrafanaResource.ProvisioningDirectory, isReadOnly: true)
            .WithBindMount(Path.Combine(grafanaDirectory, "dashboards"), GrafanaResource.DashboardsDirectory, isReadOnly: true)
            .WithEnvironment("GF_SECURITY_ADMIN_USER", "admin")
            .WithEnvironment("GF_AUTH_ANONYMOUS_ENABLED", "true")
            .WithEnvironment("GF_AUTH_ANONYMOUS_ORG_ROLE", "Viewer")
            .WithEnvironment("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH", $"{GrafanaResource.DashboardsDirectory}/computeapi.json")
            .WithEnvironment("GF_ANALYTICS_REPORTING_ENABLED", "false")
            .WithEnvironment("GF_ANALYTICS_CHECK_FOR_UPDATES", "false")
            .WithEnvironment("GF_ANALYTICS_CHECK_FOR_PLUGIN_UPDATES", "false")
            .WithHttpHealthCheck("/api/health", endpointName: GrafanaResource.HttpEndpointName)
            .WithUrlForEndpoint(GrafanaResource.HttpEndpointName, url => url.DisplayText = "Grafana")
            .WithUrlForEndpoint(GrafanaResource.HttpEndpointName, _ => new ResourceUrlAnnotation
            {
                Url = $"/d/{GrafanaResource.ComputeApiDashboardUid}",
                DisplayText = "ComputeApi dashboard",
            })
            .WithKubernetes(k =>
            {
                k.Component = "dashboards";
                k.ProvidedByOperatorStack = true;
                k.RunAsUser = GrafanaResource.Record.User;
                k.WritableDirectories[GrafanaResource.Record.Path("data")] = "1Gi";
                k.WritableDirectories[GrafanaResource.Record.Path("logs")] = "256Mi";
                k.WritableDirectories["/tmp"] = "64Mi";
                k.Probes = new(Liveness: "/api/health", Readiness: "/api/health", Startup: "/api/health");
                k.Service = new(Port: GrafanaResource.Port);
                k.Scrape = new("/metrics", ScrapeVia.Service); // Grafana's own metrics, through the service-endpoints job
            });
        return builder.ExecutionContext.IsPublishMode
            ? grafana.WithEnvironment("GF_SECURITY_DISABLE_INITIAL_ADMIN_CREATION", "true")
            : grafana.WithEnvironment("GF_SECURITY_ADMIN_PASSWORD", adminPassword);
    }

    /// <summary>Points the provisioned datasource (<c>${PROMETHEUS_URL}</c>) at <paramref name="prometheus"/> and starts after it.</summary>
    public static IResourceBuilder<GrafanaResource> WithDataSource(
        this IResourceBuilder<GrafanaResource> grafana, IResourceBuilder<PrometheusResource> prometheus) =>
        grafana
            .WithEnvironment("PROMETHEUS_URL", prometheus.Resource.HttpEndpoint)
            .WaitFor(prometheus);
}
