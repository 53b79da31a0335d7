using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using CloudApp.AppHost.Alertmanager;
using CloudApp.AppHost.Prometheus;
using CloudApp.Integration.Tests.Support;
using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Configurations;
using DotNet.Testcontainers.Containers;

namespace CloudApp.Integration.Tests;

/// <summary>
/// A changed ConfigMap reaches the running servers without a restart, as the generated manifests arrange it: the
/// files are mounted as folders, which the kubelet updates by writing a new timestamped folder and swapping the
/// <c>..data</c> link to it (reproduced here on a bind-mounted folder), Prometheus notices by itself
/// (auto-reload-config, with the arguments it runs with everywhere) and Alertmanager when its reloader sidecar
/// posts to <c>/-/reload</c>. Alertmanager's silences live on its storage volume and outlive the container.
/// </summary>
public sealed class ConfigReloadTests
{
    private static readonly int PrometheusPort = PrometheusResource.Port;

    [Fact]
    public async Task PrometheusAppliesChangedRuleAndConfigurationFilesWithoutRestarting()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        using var config = new ConfigMapFolder("prometheus.yml", PrometheusConfiguration("before"));
        using var rules = new ConfigMapFolder("reload.rules.yml", RecordingRule("cloudapp:reload_probe:before"));
        await using var prometheus = new ContainerBuilder(Repository.Images.Prometheus.ToString())
            .WithName($"prometheus-reload-{Guid.NewGuid():N}")
            .WithPortBinding(PrometheusPort, assignRandomHostPort: true)
            .WithBindMount(config.Path, Path.GetDirectoryName(PrometheusResource.ConfigFile)!, AccessMode.ReadOnly)
            .WithBindMount(rules.Path, PrometheusResource.RulesDirectory, AccessMode.ReadOnly)
            .WithCommand([.. PrometheusResource.Arguments])
            .WithWaitStrategy(Wait.ForUnixContainer().UntilHttpRequestIsSucceeded(r => r.ForPort((ushort)PrometheusPort).ForPath("/-/ready")))
            .Build();
        await prometheus.StartAsync(cts.Token);
        using var http = new HttpClient { BaseAddress = new Uri($"http://{prometheus.Hostname}:{prometheus.GetMappedPublicPort(PrometheusPort)}") };
        var before = await RuntimeInfoAsync(http, cts.Token);
        Assert.Contains("cloudapp:reload_probe:before", await RuleNamesAsync(http, cts.Token));

        await rules.UpdateAsync(RecordingRule("cloudapp:reload_probe:after"), cts.Token);
        await config.UpdateAsync(PrometheusConfiguration("after"), cts.Token);

        // Within one auto-reload interval (and a little for the check itself).
        var within = PrometheusResource.AutoReloadInterval * 2 + TimeSpan.FromSeconds(10);
        var names = await PrometheusApi.EventuallyAsync(ct => RuleNamesAsync(http, ct),
            n => n.Contains("cloudapp:reload_probe:after"), within, "the changed rule file loaded");
        Assert.DoesNotContain("cloudapp:reload_probe:before", names);
        await PrometheusApi.EventuallyAsync(async ct => (await http.GetFromJsonAsync<JsonElement>("/api/v1/status/config", ct))
                .GetProperty("data").GetProperty("yaml").GetString()!,
            yaml => yaml.Contains("stage: after", StringComparison.Ordinal), within, "the changed configuration loaded");

        var after = await RuntimeInfoAsync(http, cts.Token);
        Assert.Equal(before.StartTime, after.StartTime); // the same process: its TSDB and state stayed
        Assert.True(after.ReloadConfigSuccess);
        Assert.True(after.LastConfigTime > before.LastConfigTime, $"configuration loaded at {before.LastConfigTime:O}, then {after.LastConfigTime:O}");
    }

    [Fact]
    public async Task AlertmanagerAppliesAChangedFileOnReloadAndKeepsSilencesOnItsVolume()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var original = await File.ReadAllTextAsync(Repository.AlertmanagerConfig, cts.Token);
        const string groupWait = "group_wait: 10s";
        Assert.Contains(groupWait, original);
        using var config = new ConfigMapFolder(Path.GetFileName(AlertmanagerResource.ConfigFile), original);
        // The silences and notification log, as on the production overlay's volume claim: a volume that outlives containers.
        var volume = new VolumeBuilder().WithName($"alertmanager-data-{Guid.NewGuid():N}").Build();
        await volume.CreateAsync(cts.Token);
        try
        {
            IContainer Alertmanager() => ScrapeStack.Alertmanager("alertmanager-reload", config.Path)
                .WithVolumeMount(volume, StoragePath)
                .Build();

            string silenceId;
            await using (var alertmanager = Alertmanager())
            {
                await alertmanager.StartAsync(cts.Token);
                using var http = Client(alertmanager);
                var uptime = (await StatusAsync(http, cts.Token)).GetProperty("uptime").GetDateTimeOffset();
                silenceId = await SilenceAsync(http, cts.Token);

                await config.UpdateAsync(original.Replace(groupWait, "group_wait: 15s", StringComparison.Ordinal), cts.Token);
                // What the reloader sidecar does when the kubelet swaps the folder's files.
                using (var reload = await http.PostAsync("/-/reload", content: null, cts.Token))
                {
                    Assert.True(reload.IsSuccessStatusCode, await reload.Content.ReadAsStringAsync(cts.Token));
                }

                var status = await StatusAsync(http, cts.Token);
                Assert.Contains("group_wait: 15s", status.GetProperty("config").GetProperty("original").GetString());
                Assert.Equal(uptime, status.GetProperty("uptime").GetDateTimeOffset()); // not restarted
                Assert.Equal("active", await SilenceStateAsync(http, silenceId, cts.Token));
                // Stopped as the kubelet stops a pod (SIGTERM): Alertmanager writes its state to the volume.
                await alertmanager.StopAsync(cts.Token);
            }

            // A new container on the same volume (a new pod on the same claim) still has the silence.
            await using (var replacement = Alertmanager())
            {
                await replacement.StartAsync(cts.Token);
                using var http = Client(replacement);
                Assert.Equal("active", await SilenceStateAsync(http, silenceId, cts.Token));
            }
        }
        finally
        {
            await volume.DeleteAsync(CancellationToken.None);
            await volume.DisposeAsync();
        }
    }

    private static string StoragePath => AlertmanagerResource.Arguments.Single(a => a.StartsWith("--storage.path=", StringComparison.Ordinal))["--storage.path=".Length..];

    private static HttpClient Client(IContainer alertmanager) =>
        new() { BaseAddress = new Uri($"http://{alertmanager.Hostname}:{alertmanager.GetMappedPublicPort(ScrapeStack.AlertmanagerPort)}") };

    private static async Task<JsonElement> StatusAsync(HttpClient http, CancellationToken cancellationToken) =>
        await http.GetFromJsonAsync<JsonElement>("/api/v2/status", cancellationToken);

    private static async Task<string> SilenceAsync(HttpClient http, CancellationToken cancellationToken)
    {
        var silence = new JsonObject
        {
            ["matchers"] = new JsonArray(new JsonObject { ["name"] = "alertname", ["value"] = "ComputeApiTargetDown", ["isRegex"] = false, ["isEqual"] = true }),
            ["startsAt"] = DateTimeOffset.UtcNow.ToString("O"),
            ["endsAt"] = DateTimeOffset.UtcNow.AddHours(2).ToString("O"),
            ["createdBy"] = "config-reload-test",
            ["comment"] = "kept across a reload and a new container",
        };
        using var response = await http.PostAsJsonAsync("/api/v2/silences", silence, cancellationToken);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync(cancellationToken));
        return (await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken)).GetProperty("silenceID").GetString()!;
    }

    private static async Task<string?> SilenceStateAsync(HttpClient http, string id, CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync($"/api/v2/silence/{id}", cancellationToken);
        return response.IsSuccessStatusCode
            ? (await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken)).GetProperty("status").GetProperty("state").GetString()
            : $"HTTP {(int)response.StatusCode}";
    }

    private sealed record RuntimeInfo(DateTimeOffset StartTime, bool ReloadConfigSuccess, DateTimeOffset LastConfigTime);

    private static async Task<RuntimeInfo> RuntimeInfoAsync(HttpClient http, CancellationToken cancellationToken)
    {
        var data = (await http.GetFromJsonAsync<JsonElement>("/api/v1/status/runtimeinfo", cancellationToken)).GetProperty("data");
        return new(data.GetProperty("startTime").GetDateTimeOffset(), data.GetProperty("reloadConfigSuccess").GetBoolean(),
            data.GetProperty("lastConfigTime").GetDateTimeOffset());
    }

    private static async Task<List<string>> RuleNamesAsync(HttpClient http, CancellationToken cancellationToken) =>
        [.. (await http.GetFromJsonAsync<JsonElement>("/api/v1/rules", cancellationToken)).GetProperty("data").GetProperty("groups").EnumerateArray()
            .SelectMany(g => g.GetProperty("rules").EnumerateArray()).Select(r => r.GetProperty("name").GetString()!)];

    private static string PrometheusConfiguration(string stage) => $"""
        global:
          evaluation_interval: 1s
          external_labels:
            stage: {stage}
        rule_files:
          - {PrometheusResource.RulesDirectory}/*.yml
        """;

    private static string RecordingRule(string name) => $"""
        groups:
          - name: reload
            rules:
              - record: {name}
                expr: vector(1)
        """;

    /// <summary>
    /// A folder laid out as the kubelet lays out a ConfigMap volume: the data in a timestamped folder, a <c>..data</c>
    /// link to it, and each file a link through <c>..data</c>. An update writes a new folder and renames a new link
    /// over <c>..data</c>, so a reader sees the old files or the new ones, never a mix.
    /// </summary>
    private sealed class ConfigMapFolder : IDisposable
    {
        private readonly string _file;
        private int _version;

        public ConfigMapFolder(string file, string content)
        {
            _file = file;
            // A plain folder (not a private temp one): the servers run as an unprivileged user.
            Path = Directory.CreateDirectory(System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"cloudapp-configmap-{Guid.NewGuid():N}")).FullName;
            var version = WriteVersion(content);
            File.CreateSymbolicLink(System.IO.Path.Combine(Path, "..data"), version);
            File.CreateSymbolicLink(System.IO.Path.Combine(Path, file), System.IO.Path.Combine("..data", file));
        }

        public string Path { get; }

        public async Task UpdateAsync(string content, CancellationToken cancellationToken)
        {
            var previous = new FileInfo(System.IO.Path.Combine(Path, "..data")).LinkTarget!;
            var version = WriteVersion(content);
            var link = System.IO.Path.Combine(Path, "..data_tmp");
            File.CreateSymbolicLink(link, version);
            // rename(2) over the old link: atomic, as the kubelet's writer does it.
            var moved = await ExternalProgram.RunAsync("mv", ["-T", link, System.IO.Path.Combine(Path, "..data")], TimeSpan.FromSeconds(30));
            Assert.True(moved.ExitCode == 0, moved.ToString());
            Directory.Delete(System.IO.Path.Combine(Path, previous), recursive: true);
            cancellationToken.ThrowIfCancellationRequested();
        }

        private string WriteVersion(string content)
        {
            var name = $"..{DateTime.UtcNow:yyyy_MM_dd_HH_mm_ss}.{++_version}";
            Directory.CreateDirectory(System.IO.Path.Combine(Path, name));
            File.WriteAllText(System.IO.Path.Combine(Path, name, _file), content);
            return name;
        }

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
