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
            .WithBindMount(configFile, "/etc/alertmanager/alertmanager.yml", isReadOnly: true)
            // One instance: no gossip cluster to form (an empty listen address turns clustering off), so alerts
            // are delivered at once instead of after the cluster settles.
            .WithArgs("--config.file=/etc/alertmanager/alertmanager.yml", "--storage.path=/alertmanager", "--cluster.listen-address=")
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
                k.RunAsUser = 65534; // nobody, the official image's user
                k.Resources = new("50m", "250m", "64Mi", "256Mi");
                k.WritableDirectories["/alertmanager"] = "256Mi"; // silences and notification log
                k.Probes = new(Liveness: "/-/healthy", Readiness: "/-/ready", Startup: "/-/ready");
                k.Service = new(Port: AlertmanagerResource.Port);
                k.Scrape = new("/metrics", ScrapeVia.Service);
            });
}
