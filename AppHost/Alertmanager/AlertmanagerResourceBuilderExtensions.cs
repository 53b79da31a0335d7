using CloudApp.AppHost;
using CloudApp.AppHost.Alertmanager;
using CloudApp.AppHost.Kubernetes;

namespace Aspire.Hosting;

public static class AlertmanagerResourceBuilderExtensions
{
    /// <summary>
    /// Adds an Alertmanager container configured by <paramref name="configFile"/> (bind-mounted read-only). Prometheus
    /// finds it by its resource name (the <c>alerting:</c> section of deploy/prometheus): locally on the
    /// containers' network, in Kubernetes through its Service in the same namespace.
    /// </summary>
    public static IResourceBuilder<AlertmanagerResource> AddAlertmanager(
        this IDistributedApplicationBuilder builder, string name, ImageReference image, string configFile) =>
        builder.AddResource(new AlertmanagerResource(name))
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
                k.Resources = new("50m", "250m", "64Mi", "256Mi");
                k.WritableDirectories["/alertmanager"] = "256Mi"; // silences and notification log
                k.Probes = new(Liveness: "/-/healthy", Readiness: "/-/ready", Startup: "/-/ready");
                k.Service = new(Port: AlertmanagerResource.Port);
                k.Scrape = new("/metrics", ScrapeVia.Service);
            });
}
