using CloudApp.AppHost;
using CloudApp.AppHost.Kubernetes;

namespace Aspire.Hosting;

public static class KubeStateMetricsBuilderExtensions
{
    public const int Port = 8080;

    /// <summary>
    /// The families kept: restarts per container (cAdvisor cannot count them, each restart is a new container with
    /// series of its own), why a container last ended (OOMKilled, Error) and the node each pod runs on.
    /// </summary>
    public static IReadOnlyList<string> Families { get; } =
        ["kube_pod_container_status_restarts_total", "kube_pod_container_status_last_terminated_reason", "kube_pod_info"];

    /// <summary>
    /// Adds kube-state-metrics for Kubernetes: it watches the pods of its own namespace only (a Role, never a
    /// ClusterRole, so installs in other namespaces neither collide nor see each other) and exposes
    /// <see cref="Families"/>. Prometheus finds it by its <c>app.kubernetes.io/name</c> label (job
    /// <c>kube-state-metrics</c>, with honor_labels). It needs a Kubernetes API, so it is not part of local runs.
    /// </summary>
    public static IResourceBuilder<ContainerResource> AddKubeStateMetrics(this IDistributedApplicationBuilder builder, string name, ImageReference image) =>
        builder.AddContainer(name, image.Image, image.Tag)
            .WithImageRegistry(image.Registry)
            .WithHttpEndpoint(targetPort: Port, name: KubernetesWorkload.EndpointName)
            .WithArgs(
                $"--port={Port}", "--telemetry-port=8081", "--resources=pods",
                $"--namespaces={ManifestGenerator.PodNamespaceReference}", $"--metric-allowlist={string.Join(',', Families)}")
            .WithKubernetes(k =>
            {
                k.Component = "monitoring";
                k.ProvidedByOperatorStack = true;
                k.RunAsUser = ImageRecords.Current.KubeStateMetrics.User;
                k.Probes = new(Liveness: "/livez", Readiness: "/livez", Startup: "/livez");
                k.ApiAccess = KubernetesApiAccess.PodsOfItsNamespace;
            });
}
