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
    /// <paramref name="configReloader"/> runs beside it and reloads it when its ConfigMap changes.
    /// </summary>
    public static IResourceBuilder<AlertmanagerResource> AddAlertmanager(
        this IDistributedApplicationBuilder builder, string name, ImageReference image, ImageReference configReloader, string configFile)
    {
        var alertmanager = builder.AddResource(new AlertmanagerResource(name))
            .WithImage(image.Image, image.Tag)
            .WithImageRegistry(image.Registry)
            .WithHttpEndpoint(port: AlertmanagerResource.Port, targetPort: AlertmanagerResource.Port, name: AlertmanagerResource.HttpEndpointName)
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
                k.Resources = new("50m", "250m", "64Mi", "256Mi");
                k.WritableDirectories[AlertmanagerResource.StorageDirectory] = "256Mi"; // silences and notification log
                k.Probes = new(Liveness: "/-/healthy", Readiness: "/-/ready", Startup: "/-/ready");
                k.Service = new(Port: AlertmanagerResource.Port);
                k.Scrape = new("/metrics", ScrapeVia.Service);
                // Alertmanager does not watch its configuration: the sidecar reloads it when the ConfigMap changes.
                k.ConfigReloader = new(configReloader, "/-/reload");
                k.ExternalUrlFlag = "--web.external-url";
            });
        // Links in notifications lead to the UI on the host; silences and the notification log outlive the container.
        return builder.ExecutionContext.IsRunMode
            ? alertmanager.WithArgs($"--web.external-url=http://localhost:{AlertmanagerResource.Port}/")
                .WithVolume(VolumeNameGenerator.Generate(alertmanager, "data"), AlertmanagerResource.StorageDirectory)
            : alertmanager;
    }
}
