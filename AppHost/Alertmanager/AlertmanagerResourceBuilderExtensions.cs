using CloudApp.AppHost;
using CloudApp.AppHost.Alertmanager;
using CloudApp.AppHost.Kubernetes;

namespace Aspire.Hosting;

public static class AlertmanagerResourceBuilderExtensions
{
    /// <summary>
    /// Adds an Alertmanager container configured by <paramref name="configFile"/> (bind-mounted read-only). Prometheus
    /// finds it by its resource name (the <c>alerting:</c> section of deploy/prometheus): locally on the
    /// containers' network, in Kubernetes through its Service in the same namespace. In Kubernetes,
    /// <paramref name="configReloader"/> runs beside it and reloads it when its ConfigMap changes. <paramref name="port"/>
    /// publishes the UI on that host port (none: a port the engine picks), which notification links then lead to.
    /// </summary>
    public static IResourceBuilder<AlertmanagerResource> AddAlertmanager(
        this IDistributedApplicationBuilder builder, string name, ImageReference image, ImageReference configReloader, string configFile,
        int? port = null)
    {
        var alertmanager = builder.AddResource(new AlertmanagerResource(name))
            .WithImage(image.Image, image.Tag)
            .WithImageRegistry(image.Registry)
            .WithHttpEndpoint(port: port, targetPort: AlertmanagerResource.Port, name: AlertmanagerResource.HttpEndpointName)
            .WithBindMount(configFile, AlertmanagerResource.ConfigFile, isReadOnly: true)
            .WithArgs([.. AlertmanagerResource.Arguments])
            .WithHttpHealthCheck("/-/ready", endpointName: AlertmanagerResource.HttpEndpointName)
            .WithUrlForEndpoint(AlertmanagerResource.HttpEndpointName, url => url.DisplayText = "Alertmanager")
            .WithUrlForEndpoint(AlertmanagerResource.HttpEndpointName, _ => new ResourceUrlAnnotation
            {
                Url = "/api/v2/alerts",
                DisplayText = "Active alerts (API)",
            })
            .WithKubernetes(k =>
            {
                k.Component = "alerting";
                k.ProvidedByOperatorStack = true;
                k.RunAsUser = AlertmanagerResource.Record.User;
                k.WritableDirectories[AlertmanagerResource.StorageDirectory] = "256Mi"; // silences and notification log
                k.Probes = new(Liveness: "/-/healthy", Readiness: "/-/ready", Startup: "/-/ready");
                k.Service = new(Port: AlertmanagerResource.Port);
                k.Scrape = new("/metrics", ScrapeVia.Service);
                // Alertmanager does not watch its configuration: the sidecar reloads it when the ConfigMap changes.
                k.ConfigReloader = new(configReloader, "/-/reload");
                k.ExternalUrlFlag = "--web.external-url";
            });
        if (!builder.ExecutionContext.IsRunMode) return alertmanager;
        // Links in notifications lead to the UI on the host; silences and the notification log outlive the container.
        if (port is { } hostPort) alertmanager.WithArgs($"--web.external-url=http://localhost:{hostPort}/");
        return alertmanager.WithVolume(VolumeNameGenerator.Generate(alertmanager, "data"), AlertmanagerResource.StorageDirectory);
    }
}
