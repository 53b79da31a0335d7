using System.Globalization;
using k8s.Models;

namespace CloudApp.AppHost.Kubernetes;

/// <summary>The objects that run a pod template (Deployment, DaemonSet) and the Service in front of it.</summary>
internal static class Workloads
{
    public static V1Deployment Deployment(IResource resource, string ns, Dictionary<string, string> labels, Dictionary<string, string> selector, V1PodTemplateSpec pod) => new()
    {
        ApiVersion = "apps/v1",
        Kind = "Deployment",
        Metadata = new V1ObjectMeta { Name = resource.Name, NamespaceProperty = ns, Labels = labels },
        Spec = new V1DeploymentSpec
        {
            Replicas = resource.GetReplicaCount(),
            RevisionHistoryLimit = 3,
            Selector = new V1LabelSelector { MatchLabels = selector },
            Template = pod,
        },
    };

    public static V1DaemonSet DaemonSet(string name, string ns, Dictionary<string, string> labels, Dictionary<string, string> selector, V1PodTemplateSpec pod) => new()
    {
        ApiVersion = "apps/v1",
        Kind = "DaemonSet",
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns, Labels = labels },
        Spec = new V1DaemonSetSpec
        {
            RevisionHistoryLimit = 3,
            Selector = new V1LabelSelector { MatchLabels = selector },
            Template = pod,
        },
    };

    public static V1Service Service(string name, string ns, Dictionary<string, string> labels, Dictionary<string, string> selector,
        ServiceExposure exposure, PrometheusScrape? scrape, int containerPort) => new()
    {
        ApiVersion = "v1",
        Kind = "Service",
        Metadata = new V1ObjectMeta
        {
            Name = name,
            NamespaceProperty = ns,
            Labels = labels,
            Annotations = scrape is { Via: ScrapeVia.Service } ? ScrapeAnnotations(scrape, containerPort) : null,
        },
        Spec = new V1ServiceSpec
        {
            Type = exposure.NodePort is null ? "ClusterIP" : "NodePort",
            Selector = selector,
            Ports =
            [
                new V1ServicePort
                {
                    Name = KubernetesWorkload.EndpointName,
                    Port = exposure.Port,
                    TargetPort = KubernetesWorkload.EndpointName,
                    NodePort = exposure.NodePort,
                    Protocol = "TCP",
                },
            ],
        },
    };

    /// <summary>The <c>prometheus.io/scrape|port|path</c> annotations the discovery jobs keep.</summary>
    public static Dictionary<string, string> ScrapeAnnotations(PrometheusScrape scrape, int port) => new()
    {
        ["prometheus.io/scrape"] = "true",
        ["prometheus.io/port"] = port.ToString(CultureInfo.InvariantCulture),
        ["prometheus.io/path"] = scrape.Path,
    };
}
