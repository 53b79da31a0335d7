using CloudApp.AppHost;
using CloudApp.AppHost.Alertmanager;
using CloudApp.AppHost.Grafana;
using CloudApp.AppHost.Kubernetes;
using CloudApp.AppHost.Lab;
using CloudApp.AppHost.Prometheus;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

var builder = DistributedApplication.CreateBuilder(args);
var root = Path.GetFullPath(Path.Combine(builder.AppHostDirectory, ".."));
var deploy = Path.Combine(root, "deploy");
var configured = ContainerImages.From(builder.Configuration);
// Images:* overrides name this machine's mirrors or local stand-ins: runs use them, but what a publish writes names
// the pinned images, whatever the environment of the machine that publishes.
var images = builder.ExecutionContext.IsPublishMode ? configured.Pins : configured;

var computeapi = builder.AddProject<Projects.ComputeApi>("computeapi")
    .WithReplicas(builder.Configuration.GetValue("ComputeApi:Replicas", 2))
    .WithHttpHealthCheck(ServiceDefaultsExtensions.HealthPath)
    .WithPublishedImage(configured.ComputeApi, images.ComputeApi, builder.Configuration["ComputeApi:Registry"])
    .WithLabCommands(Path.Combine(deploy, "prometheus", "prometheus.yml"))
    .WithKubernetes(k =>
    {
        k.Component = "api";
        // The port and user of the .NET base image the ComputeApi image is built on.
        k.ContainerPort = images.Records.RuntimeDeps.Port;
        k.RunAsUser = images.Records.RuntimeDeps.User;
        k.WritableDirectories["/tmp"] = "64Mi";
        k.Probes = new(Liveness: ServiceDefaultsExtensions.AlivePath, Readiness: ServiceDefaultsExtensions.HealthPath,
            Startup: ServiceDefaultsExtensions.AlivePath);
        k.Service = new(Port: 80); // a ClusterIP Service on port 80, as the lab's example-service
        k.Scrape = new(ServiceDefaultsExtensions.MetricsPath, ScrapeVia.Pod);
    })
    .PublishAsKubernetesWorkload(new("500m", "2", "128Mi", "512Mi"));

// The UIs on their well-known host ports, so http://localhost:9090 and :9093 work as in every guide.
var alertmanager = builder.AddAlertmanager("alertmanager", images.Alertmanager, images.ConfigReloader,
        Path.Combine(deploy, "alertmanager", "alertmanager.yml"), port: AlertmanagerResource.Port)
    .WithLabCommands()
    .PublishAsKubernetesWorkload(new("50m", "250m", "64Mi", "256Mi"));

// Host metrics (the lab's cpu, memory, disk and bandwidth rates): of this machine locally, of every node in a cluster.
var nodeExporter = builder.AddNodeExporter("node-exporter", images.NodeExporter)
    .PublishAsKubernetesWorkload(new("50m", "250m", "32Mi", "128Mi"));

// Restart counts of the install's containers, read from the Kubernetes API: in a cluster only.
if (builder.ExecutionContext.IsPublishMode)
{
    builder.AddKubeStateMetrics("kube-state-metrics", images.KubeStateMetrics)
        .PublishAsKubernetesWorkload(new("10m", "100m", "32Mi", "128Mi"));
}

var prometheus = builder.AddPrometheus("prometheus", images.Prometheus, Path.Combine(deploy, "prometheus"), port: PrometheusResource.Port)
    .WithUrlForEndpoint("http", _ => new() { Url = builder.Configuration["Prometheus:TargetsPath"] ?? "/targets", DisplayText = "Targets" })
    .WithReplicaTargets(computeapi)
    .WithLabCommands()
    .WaitFor(computeapi)
    .WaitFor(alertmanager)
    .WaitFor(nodeExporter)
    // In a cluster, the UI on every node's port 31156 as well.
    .PublishAsKubernetesWorkload(new("250m", "1", "512Mi", "2Gi"), nodePort: 31156);

var grafana = await GrafanaAvailability.DecideAsync(builder, images.Grafana);
if (grafana.Include)
{
    var adminPassword = builder.AddParameter("grafana-admin-password",
        new GenerateParameterDefault { MinLength = 24, Special = false }, secret: true, persist: true);
    builder.AddGrafana("grafana", images.Grafana, Path.Combine(deploy, "grafana"), adminPassword, port: GrafanaResource.Port)
        .WithDataSource(prometheus)
        .PublishAsKubernetesWorkload(new("100m", "500m", "128Mi", "512Mi"));
}
else
{
    builder.Eventing.Subscribe<BeforeStartEvent>((e, _) =>
    {
        e.Services.GetRequiredService<ILoggerFactory>().CreateLogger("CloudApp.AppHost")
            .LogWarning("Grafana is left out of this run: {Reason}", grafana.Reason);
        return Task.CompletedTask;
    });
}

builder.AddKubernetesPublishing(new ManifestSettings(Namespace: "cloudapp", AgentNamespace: "cloudapp-system", PartOf: "cloudapp", ManagedBy: "cloudapp-apphost",
        RunbookUrl: RunbookLinks.From(builder.Configuration[RunbookLinks.Setting])),
    defaultOutput: Path.Combine(deploy, "k8s"));

builder.Build().Run();
