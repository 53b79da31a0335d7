using CloudApp.AppHost;
using CloudApp.AppHost.Grafana;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

var builder = DistributedApplication.CreateBuilder(args);
var images = ContainerImages.From(builder.Configuration);
var deploy = Path.GetFullPath(Path.Combine(builder.AppHostDirectory, "..", "deploy"));

var computeapi = builder.AddProject<Projects.ComputeApi>("computeapi")
    .WithReplicas(builder.Configuration.GetValue("ComputeApi:Replicas", 2))
    .WithHttpHealthCheck(ServiceDefaultsExtensions.HealthPath);

var prometheus = builder.AddPrometheus("prometheus", images.Prometheus, Path.Combine(deploy, "prometheus"))
    .WithUrlForEndpoint("http", _ => new() { Url = builder.Configuration["Prometheus:TargetsPath"] ?? "/targets", DisplayText = "Targets" })
    .WithReplicaTargets(computeapi)
    .WaitFor(computeapi);

var grafana = await GrafanaAvailability.DecideAsync(builder, images.Grafana);
if (grafana.Include)
{
    var adminPassword = builder.AddParameter("grafana-admin-password",
        new GenerateParameterDefault { MinLength = 24, Special = false }, secret: true, persist: true);
    builder.AddGrafana("grafana", images.Grafana, Path.Combine(deploy, "grafana"), adminPassword)
        .WithDataSource(prometheus);
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

builder.Build().Run();
