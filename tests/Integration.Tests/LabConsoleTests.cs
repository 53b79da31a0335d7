using System.Net.Http.Json;
using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using CloudApp.Integration.Tests.Support;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace CloudApp.Integration.Tests;

/// <summary>
/// The Aspire dashboard as the lab's console: every command of the local stack run on the AppHost as the dashboard
/// runs it, its effect read where a user would see it (Prometheus, Alertmanager, the resources' state), wrong
/// arguments refused without effect, and the data of Prometheus and Alertmanager kept on volumes across a restart
/// of the whole stack. The same commands through the Aspire CLI: <see cref="AspireCliRunsTheCommandsAgainstARunningAppHost"/>.
/// </summary>
[Collection(ContainersCollection.Name)]
public sealed class LabConsoleTests
{
    [Fact]
    public async Task CommandsProduceTheLabsSymptomsAndTheStackShowsThemLive()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(8));
        var ct = timeout.Token;
        // Volumes of their own, not the developer's (their names derive from this setting).
        var sha = Guid.NewGuid().ToString("N");
        try
        {
            string silence;
            await using (var app = await StartAsync(sha, ct))
            {
                var replicas = await ReplicasAsync(app, ct);
                var (loaded, slowed) = (replicas[0], replicas[1]);
                using var prometheusHttp = app.CreateHttpClient("prometheus", "http");
                var prometheus = new PrometheusApi(prometheusHttp);
                using var alertmanager = app.CreateHttpClient("alertmanager", "http");

                // Load on one replica: its jobs reach Prometheus, labelled with that replica.
                var load = await RunAsync(app, loaded, "generate-load", ct, ("rate", "5"), ("duration", "4"), ("size", "100000"));
                Assert.True(load.Success, load.Message);
                Assert.StartsWith($"20 requests to {loaded}", load.Message);
                string Jobs(string replica) => $$"""sum(compute_jobs_total{job="computeapi", replica="{{replica}}"})""";
                await PrometheusApi.EventuallyAsync(ct => prometheus.QueryAsync(Jobs(loaded), ct), r => r.Count == 1 && r[0].Value == 20,
                    TimeSpan.FromSeconds(60), "the 20 jobs in Prometheus");

                // Wrong arguments: a clear refusal, and nothing sent.
                foreach (var (name, value, expected) in new[] { ("rate", "500", "rate must be a whole number from 1 to 50"), ("kernel", "nope", "kernel 'nope' is not one of"),
                    ("size", "abc", "size must be a whole number") })
                {
                    var refused = await RunAsync(app, loaded, "generate-load", ct, (name, value));
                    Assert.False(refused.Success);
                    Assert.Contains(expected, refused.Message);
                    Assert.Contains("nothing was sent", refused.Message);
                }
                var slowRefused = await RunAsync(app, slowed, "slow-metrics", ct, ("seconds", "600"));
                Assert.False(slowRefused.Success);
                Assert.Contains("from 1 to 60", slowRefused.Message);

                // The lab's symptom on demand: the slowed replica's target DOWN with "context deadline exceeded",
                // Prometheus Degraded with it, the alert active in Alertmanager.
                Assert.True((await RunAsync(app, slowed, "slow-metrics", ct)).Success);
                var down = await PrometheusApi.EventuallyAsync(ct => prometheus.TargetsAsync("computeapi", ct),
                    t => t.Any(x => x.Replica == slowed && x.Health == "down"), TimeSpan.FromSeconds(60), "the slowed replica's target down");
                Assert.Contains("context deadline exceeded", down.Single(x => x.Replica == slowed).LastError);
                var degraded = await app.ResourceNotifications.WaitForResourceAsync("prometheus",
                    e => e.Snapshot.HealthStatus == HealthStatus.Degraded, ct);
                Assert.Contains(degraded.Snapshot.Properties, p => p.Name == "prometheus.targets" && (string?)p.Value == "4/5");
                Assert.Contains(degraded.Snapshot.HealthReports, h => h.Description?.Contains("context deadline exceeded", StringComparison.Ordinal) == true);
                Assert.Equal(20, (await prometheus.QueryAsync(Jobs(loaded), ct)).Single().Value); // the refusals sent nothing
                await PrometheusApi.EventuallyAsync(ct => AlertsAsync(alertmanager, ct), a => a.Any(x => x.Name == "ComputeApiTargetDown" && x.State == "active"),
                    TimeSpan.FromMinutes(3), "ComputeApiTargetDown active in Alertmanager");

                // Silenced from the console: the silence is active and the alert suppressed.
                var silenced = await RunAsync(app, "alertmanager", "silence-alert", ct, ("alertname", "ComputeApiTargetDown"), ("duration", "2h"));
                Assert.True(silenced.Success, silenced.Message);
                silence = silenced.Message!.Split("(silence ")[1].TrimEnd('.', ')');
                Assert.Equal("active", (await alertmanager.GetFromJsonAsync<JsonElement>($"/api/v2/silence/{silence}", ct)).GetProperty("status").GetProperty("state").GetString());
                await PrometheusApi.EventuallyAsync(ct => AlertsAsync(alertmanager, ct), a => a.Any(x => x.Name == "ComputeApiTargetDown" && x.State == "suppressed"),
                    TimeSpan.FromSeconds(30), "ComputeApiTargetDown suppressed by the silence");
                var refusedSilence = await RunAsync(app, "alertmanager", "silence-alert", ct, ("alertname", "ComputeApiTargetDown"), ("duration", "9d"));
                Assert.False(refusedSilence.Success);
                Assert.Contains("duration must be from 1m to 7d", refusedSilence.Message);

                // And undone: the target up again.
                Assert.True((await RunAsync(app, slowed, "restore-metrics", ct)).Success);
                await PrometheusApi.EventuallyAsync(ct => prometheus.TargetsAsync("computeapi", ct),
                    t => t.Single(x => x.Replica == slowed).Health == "up", TimeSpan.FromSeconds(60), "the restored replica's target up");

                // A test alert reaches Alertmanager and shows in its live counts.
                Assert.True((await RunAsync(app, "alertmanager", "send-test-alert", ct)).Success);
                await PrometheusApi.EventuallyAsync(ct => AlertsAsync(alertmanager, ct), a => a.Any(x => x.Name == "CloudAppTestAlert" && x.State == "active"),
                    TimeSpan.FromSeconds(30), "the test alert in Alertmanager");
                await app.ResourceNotifications.WaitForResourceAsync("alertmanager",
                    e => e.Snapshot.Properties.Any(p => p.Name == "alertmanager.silences" && (string?)p.Value == "1")
                         && e.Snapshot.Properties.Any(p => p.Name == "alertmanager.alerts.active" && int.Parse((string)p.Value!) >= 1), ct);

                // Reload: Prometheus reports a new successful load of its configuration.
                var before = await LastConfigTimeAsync(prometheusHttp, ct);
                var reloaded = await RunAsync(app, "prometheus", "reload-configuration", ct);
                Assert.True(reloaded.Success, reloaded.Message);
                Assert.True(await LastConfigTimeAsync(prometheusHttp, ct) > before);

                // The crash drill: SIGKILL, the replica ends with 137 and its target goes down.
                Assert.True((await RunAsync(app, loaded, "kill-replica", ct)).Success);
                var killed = await app.ResourceNotifications.WaitForResourceAsync("computeapi", e => e.ResourceId == loaded && e.Snapshot.State?.Text == KnownResourceStates.Finished, ct);
                Assert.Equal(137, killed.Snapshot.ExitCode);
                await PrometheusApi.EventuallyAsync(ct => prometheus.TargetsAsync("computeapi", ct),
                    t => t.Single(x => x.Replica == loaded).Health == "down", TimeSpan.FromSeconds(60), "the killed replica's target down");
            }

            // The whole stack again, on the same volumes: the silence is still there.
            await using (var app = await StartAsync(sha, ct))
            {
                using var alertmanager = app.CreateHttpClient("alertmanager", "http");
                var state = (await alertmanager.GetFromJsonAsync<JsonElement>($"/api/v2/silence/{silence}", ct)).GetProperty("status").GetProperty("state").GetString();
                Assert.Equal("active", state);
            }
        }
        finally
        {
            await RemoveVolumesAsync(sha);
        }
    }

    [Fact]
    public async Task AspireCliRunsTheCommandsAgainstARunningAppHost()
    {
        var sha = Guid.NewGuid().ToString("N");
        try
        {
            // The CLI as ./run.sh installs it (the tool manifest); a fresh NuGet cache may need a second try.
            if ((await ExternalProgram.RunAsync("dotnet", ["tool", "restore"], TimeSpan.FromMinutes(3), workingDirectory: Repository.Root)).ExitCode != 0)
            {
                var restore = await ExternalProgram.RunAsync("dotnet", ["tool", "restore"], TimeSpan.FromMinutes(3), workingDirectory: Repository.Root);
                Assert.True(restore.ExitCode == 0, restore.ToString());
            }
            // The stack's own budget, from here: restoring the CLI on a cold cache has budgets of its own.
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
            await using var app = await StartAsync(sha, timeout.Token);
            var replica = (await ReplicasAsync(app, timeout.Token))[0];

            var ok = await CliAsync(["resource", replica, "generate-load", "--rate", "2", "--duration", "2"]);
            Assert.True(ok.ExitCode == 0, ok.ToString());
            Assert.Contains($"4 requests to {replica}", ok.Output);

            var refused = await CliAsync(["resource", replica, "generate-load", "--rate", "0"]);
            Assert.NotEqual(0, refused.ExitCode);
            Assert.Contains("rate must be a whole number from 1 to 50", refused.Output + refused.Error);

            // Every other command as a user types it; each prints what it did.
            foreach (var (resource, command, arguments, printed) in new (string, string, string[], string)[]
            {
                (replica, "slow-metrics", ["--seconds", "7"], "/metrics answers after 7 s"),
                (replica, "restore-metrics", [], "/metrics answers at once again"),
                ("prometheus", "reload-configuration", [], "Configuration and rules reloaded"),
                ("alertmanager", "send-test-alert", [], "CloudAppTestAlert (severity info) sent"),
                ("alertmanager", "silence-alert", ["--alertname", "CloudAppTestAlert", "--duration", "10m"], "CloudAppTestAlert silenced until"),
                (replica, "kill-replica", [], "killed pid"),
            })
            {
                var run = await CliAsync(["resource", resource, command, .. arguments]);
                Assert.True(run.ExitCode == 0, $"{command}: {run}");
                Assert.Contains(printed, run.Output);
            }
        }
        finally
        {
            await RemoveVolumesAsync(sha);
        }
    }

    private static async Task<DistributedApplication> StartAsync(string sha, CancellationToken cancellationToken)
    {
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(
            ["--Grafana:Enabled=false", $"--AppHostSha={sha}"], cancellationToken);
        var app = await builder.BuildAsync(cancellationToken);
        await app.StartAsync(cancellationToken);
        await app.ResourceNotifications.WaitForResourceHealthyAsync("prometheus", cancellationToken);
        await app.ResourceNotifications.WaitForResourceHealthyAsync("alertmanager", cancellationToken);
        var volumes = (await ExternalProgram.RunAsync("docker", ["volume", "ls", "--format", "{{.Name}}"], TimeSpan.FromSeconds(30))).Output;
        Assert.Contains($"-{sha[..10]}-prometheus-data", volumes);
        return app;
    }

    /// <summary>The instance ids of the ComputeApi replicas once both run.</summary>
    private static async Task<List<string>> ReplicasAsync(DistributedApplication app, CancellationToken cancellationToken)
    {
        var running = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var e in app.ResourceNotifications.WatchAsync(cancellationToken))
        {
            if (e.Resource.Name != "computeapi") continue;
            if (e.Snapshot.State?.Text == KnownResourceStates.Running && e.Snapshot.HealthStatus == HealthStatus.Healthy) running.Add(e.ResourceId);
            if (running.Count == 2) break;
        }
        return [.. running.Order(StringComparer.Ordinal)];
    }

    private static Task<ExecuteCommandResult> RunAsync(DistributedApplication app, string resource, string command, CancellationToken cancellationToken,
        params (string Name, string Value)[] arguments) =>
        app.ResourceCommands.ExecuteCommandAsync(resource, command,
            new InteractionInputCollection([.. arguments.Select(a => new InteractionInput { Name = a.Name, InputType = InputType.Text, Value = a.Value })]),
            cancellationToken);

    private static async Task<List<(string Name, string State)>> AlertsAsync(HttpClient alertmanager, CancellationToken cancellationToken) =>
        [.. (await alertmanager.GetFromJsonAsync<JsonElement>("/api/v2/alerts", cancellationToken)).EnumerateArray()
            .Select(a => (a.GetProperty("labels").GetProperty("alertname").GetString()!, a.GetProperty("status").GetProperty("state").GetString()!))];

    private static async Task<DateTimeOffset> LastConfigTimeAsync(HttpClient prometheus, CancellationToken cancellationToken) =>
        (await prometheus.GetFromJsonAsync<JsonElement>("/api/v1/status/runtimeinfo", cancellationToken)).GetProperty("data").GetProperty("lastConfigTime").GetDateTimeOffset();

    private static Task<ExternalProgram.Result> CliAsync(string[] arguments) =>
        ExternalProgram.RunAsync("dotnet", ["aspire", .. arguments, "--apphost", Path.Combine(Repository.Root, "AppHost", "AppHost.csproj"), "--nologo"],
            TimeSpan.FromMinutes(2), new Dictionary<string, string?> { ["NO_COLOR"] = "1" }, workingDirectory: Repository.Root);

    private static async Task RemoveVolumesAsync(string sha)
    {
        var names = (await ExternalProgram.RunAsync("docker", ["volume", "ls", "--quiet", "--filter", $"name=-{sha[..10]}-"], TimeSpan.FromSeconds(30))).Output
            .Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (names.Length > 0) await ExternalProgram.RunAsync("docker", ["volume", "rm", "--force", .. names], TimeSpan.FromMinutes(1));
    }
}
