namespace CloudApp.AppHost.Kubernetes;

/// <summary>
/// How a resource of the app model runs in Kubernetes, beyond what the model already says (image, replicas,
/// endpoints, environment, arguments, bind mounts): resources, probes, the user, writable folders, the Service
/// in front of it, how Prometheus finds it, and whether it runs on every node or reads the Kubernetes API.
/// </summary>
public sealed class KubernetesWorkload
{
    /// <summary>Name of the endpoint (in the model) that is the container port, probes and Service target.</summary>
    public const string EndpointName = "http";

    /// <summary>Value of the <c>app.kubernetes.io/component</c> label.</summary>
    public string Component { get; set; } = "";

    /// <summary>For projects: the image they are published as (containers already name theirs).</summary>
    public ImageReference? Image { get; set; }

    /// <summary>For projects: the port the published image listens on (containers: the endpoint's target port).</summary>
    public int? ContainerPort { get; set; }

    /// <summary>
    /// Requests and limits: a deploy-time setting (<c>PublishAsKubernetesWorkload</c>, where the AppHost composes the
    /// app), which every published workload needs.
    /// </summary>
    public ComputeResources? Resources { get; set; }

    /// <summary>The non-root user of the image (its record's <c>user</c> in deploy/images.json); required.</summary>
    public long? RunAsUser { get; set; }

    /// <summary>Folders the container writes (the root file system is read-only): path to emptyDir size limit.</summary>
    public SortedDictionary<string, string> WritableDirectories { get; } = new(StringComparer.Ordinal);

    public HttpProbes? Probes { get; set; }

    /// <summary>How long the container may take to stop cleanly before it is killed (Kubernetes' default: 30 s).</summary>
    public long? TerminationGracePeriodSeconds { get; set; }

    public ServiceExposure? Service { get; set; }

    public PrometheusScrape? Scrape { get; set; }

    /// <summary>
    /// Run one pod on every node, with host access, in the node agents' namespace of its own
    /// (<see cref="ManifestSettings.AgentNamespace"/>): a DaemonSet.
    /// </summary>
    public NodeAgent? NodeAgent { get; set; }

    /// <summary>What of the Kubernetes API the pod's service account may read (none: no service account token).</summary>
    public KubernetesApiAccess ApiAccess { get; set; }

    public bool ReadsKubernetesApi => ApiAccess != KubernetesApiAccess.None;

    /// <summary>
    /// A sidecar that watches the mounted ConfigMaps and asks the server to reload when the kubelet updates them, for
    /// servers that do not watch their own files (Alertmanager). Prometheus reloads itself (auto-reload-config).
    /// </summary>
    public ConfigReloader? ConfigReloader { get; set; }

    /// <summary>
    /// The flag that tells the server the URL it is reached at (<c>--web.external-url</c>), for links in alerts and
    /// notifications. Set to the Service's address in the pod's own namespace through the environment variable
    /// <see cref="ExternalUrlVariable"/>, which an overlay replaces with an ingress address.
    /// </summary>
    public string? ExternalUrlFlag { get; set; }

    public const string ExternalUrlVariable = "EXTERNAL_URL";

    /// <summary>
    /// Arguments an overlay sets by name, flag to environment variable: <c>--flag=value</c> is published as
    /// <c>--flag=$(VARIABLE)</c> with <c>VARIABLE=value</c> in the container's environment, which a patch of that one
    /// entry replaces (a patch of the argument list would depend on each argument's position).
    /// </summary>
    public SortedDictionary<string, string> ArgumentSettings { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Part of the monitoring stack that a cluster running the Prometheus Operator brings itself (Prometheus,
    /// Alertmanager, Grafana, kube-state-metrics): the Operator component removes it (see <see cref="OperatorComponent"/>).
    /// </summary>
    public bool ProvidedByOperatorStack { get; set; }
}

public enum KubernetesApiAccess
{
    None,

    /// <summary>What Prometheus' Kubernetes discovery and the kubelet's metrics need, cluster-wide (a ClusterRole).</summary>
    Discovery,

    /// <summary>List and watch the pods of the workload's own namespace (a Role): all kube-state-metrics needs here.</summary>
    PodsOfItsNamespace,
}

/// <summary>The reloader's image and the server's reload path (POSTed on the pod's loopback address).</summary>
public sealed record ConfigReloader(ImageReference Image, string ReloadPath);

public sealed record ComputeResources(string CpuRequest, string CpuLimit, string MemoryRequest, string MemoryLimit);

/// <summary>
/// HTTP paths of the probes, served on <see cref="KubernetesWorkload.EndpointName"/>, and how often each runs. The
/// startup probe gives a slow start a minute (30 x 2 s) before liveness takes over; liveness restarts a container
/// only after 30 s of silence; readiness takes a pod out of its Service after 10 s.
/// </summary>
public sealed record HttpProbes(string Liveness, string Readiness, string Startup)
{
    public ProbeTiming StartupTiming { get; init; } = new(PeriodSeconds: 2, FailureThreshold: 30);

    public ProbeTiming LivenessTiming { get; init; } = new(PeriodSeconds: 10, FailureThreshold: 3);

    public ProbeTiming ReadinessTiming { get; init; } = new(PeriodSeconds: 5, FailureThreshold: 2);
}

/// <summary>How often a probe runs, how many failures in a row count, and how long one attempt may take.</summary>
public sealed record ProbeTiming(int PeriodSeconds, int FailureThreshold, int TimeoutSeconds = 2);

/// <summary>A Service on <paramref name="Port"/>; a NodePort Service when <paramref name="NodePort"/> is set.</summary>
public sealed record ServiceExposure(int Port, int? NodePort = null);

public enum ScrapeVia
{
    /// <summary>Annotate the pods: found by the <c>kubernetes-pods</c> job.</summary>
    Pod,

    /// <summary>Annotate the Service: found by the <c>kubernetes-service-endpoints</c> job.</summary>
    Service,
}

/// <summary>The <c>prometheus.io/scrape|port|path</c> annotations, on the pods or on the Service.</summary>
public sealed record PrometheusScrape(string Path, ScrapeVia Via);

/// <summary>What a node agent reads of its host: read-only host folders.</summary>
public sealed record NodeAgent(IReadOnlyList<HostMount> HostMounts);

/// <summary>A read-only host folder mounted into a node agent.</summary>
public sealed record HostMount(string Name, string HostPath, string MountPath);

internal sealed class KubernetesWorkloadAnnotation(KubernetesWorkload workload) : IResourceAnnotation
{
    public KubernetesWorkload Workload { get; } = workload;
}
