using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using CloudApp.AppHost.Alertmanager;
using CloudApp.AppHost.Prometheus;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;

namespace CloudApp.AppHost.Lab;

/// <summary>
/// Prometheus' and Alertmanager's part of the lab console: their live state on their resources (targets up, alerts
/// firing; alerts active and silenced), Prometheus Degraded while a target is down, and commands to reload
/// Prometheus' configuration, silence an alert and send a test alert.
/// </summary>
internal static class MonitoringCommands
{
    public const string ReloadConfiguration = "reload-configuration";
    public const string SilenceAlert = "silence-alert";
    public const string SendTestAlert = "send-test-alert";

    /// <summary>The name of the alert <see cref="SendTestAlert"/> sends: routed by its severity like any other.</summary>
    public const string TestAlertName = "CloudAppTestAlert";

    /// <summary>Longest silence the command sets: a forgotten silence hides real pages.</summary>
    public static readonly TimeSpan MaxSilence = TimeSpan.FromDays(7);

    public static IResourceBuilder<PrometheusResource> WithLabCommands(this IResourceBuilder<PrometheusResource> prometheus) => prometheus
        .WithLiveProperties(PrometheusResource.HttpEndpointName, ReadPrometheusAsync)
        .WithCommand(ReloadConfiguration, "Reload configuration", ReloadAsync, new CommandOptions
        {
            Description = $"Sends SIGHUP: Prometheus reads its configuration and rules again now (it also checks them every {PrometheusResource.AutoReloadInterval.TotalSeconds:0} s by itself).",
            IconName = "ArrowClockwise",
            UpdateState = ComputeApiCommands.RunningOnly,
        });

    public static IResourceBuilder<AlertmanagerResource> WithLabCommands(this IResourceBuilder<AlertmanagerResource> alertmanager) => alertmanager
        .WithLiveProperties(AlertmanagerResource.HttpEndpointName, ReadAlertmanagerAsync)
        .WithCommand(SilenceAlert, "Silence an alert", SilenceAsync, new CommandOptions
        {
            Description = $"Silences every alert of one name, for a duration (at most {MaxSilence.TotalDays:0} days).",
            IconName = "AlertOff",
            UpdateState = ComputeApiCommands.RunningOnly,
            Arguments =
            [
                new InteractionInput { Name = "alertname", Label = "Alert name", InputType = InputType.Text, Required = true, Placeholder = "ComputeApiTargetDown" },
                new InteractionInput { Name = "duration", Label = "For", InputType = InputType.Text, Value = "1h", Description = "30m, 1h, 2d, ..." },
            ],
        })
        .WithCommand(SendTestAlert, "Send a test alert", SendTestAlertAsync, new CommandOptions
        {
            Description = $"Posts {TestAlertName} (severity info, for 5 minutes) to see routing and receivers work.",
            IconName = "AlertUrgent",
            UpdateState = ComputeApiCommands.RunningOnly,
        });

    private static async Task<LiveReading> ReadPrometheusAsync(HttpClient http, CancellationToken cancellationToken)
    {
        var targets = (await http.GetFromJsonAsync<JsonElement>("/api/v1/targets?state=active", cancellationToken))
            .GetProperty("data").GetProperty("activeTargets").EnumerateArray()
            .Select(t => (Job: t.GetProperty("labels").GetProperty("job").GetString()!, Instance: t.GetProperty("labels").GetProperty("instance").GetString()!,
                Health: t.GetProperty("health").GetString()!, Error: t.GetProperty("lastError").GetString()!))
            .ToList();
        var firing = (await http.GetFromJsonAsync<JsonElement>("/api/v1/alerts", cancellationToken))
            .GetProperty("data").GetProperty("alerts").EnumerateArray().Count(a => a.GetProperty("state").GetString() == "firing");
        var up = targets.Count(t => t.Health == "up");
        var down = targets.Where(t => t.Health == "down").ToList();
        // A target not scraped yet is "unknown", not down.
        var health = down.Count == 0
            ? HealthCheckResult.Healthy($"targets up: {up}/{targets.Count}")
            : HealthCheckResult.Degraded($"targets down: {string.Join("; ", down.Select(t => $"{t.Job} {t.Instance}: {t.Error}"))}");
        return new([("prometheus.targets", "Targets up", $"{up}/{targets.Count}"), ("prometheus.alerts.firing", "Alerts firing", firing.ToString(CultureInfo.InvariantCulture))], health);
    }

    private static async Task<LiveReading> ReadAlertmanagerAsync(HttpClient http, CancellationToken cancellationToken)
    {
        var alerts = (await http.GetFromJsonAsync<JsonElement>("/api/v2/alerts", cancellationToken)).EnumerateArray()
            .Select(a => a.GetProperty("status").GetProperty("state").GetString()).ToList();
        var silences = (await http.GetFromJsonAsync<JsonElement>("/api/v2/silences", cancellationToken)).EnumerateArray()
            .Count(s => s.GetProperty("status").GetProperty("state").GetString() == "active");
        var suppressed = alerts.Count(s => s == "suppressed");
        return new(
        [
            ("alertmanager.alerts.active", "Alerts active", (alerts.Count - suppressed).ToString(CultureInfo.InvariantCulture)),
            ("alertmanager.alerts.suppressed", "Alerts silenced or inhibited", suppressed.ToString(CultureInfo.InvariantCulture)),
            ("alertmanager.silences", "Silences active", silences.ToString(CultureInfo.InvariantCulture)),
        ]);
    }

    private static async Task<ExecuteCommandResult> ReloadAsync(ExecuteCommandContext context)
    {
        var notifications = context.Services.GetRequiredService<ResourceNotificationService>();
        if (!notifications.TryGetCurrentState(context.ResourceName, out var current) || current is null
            || current.Snapshot.Properties.FirstOrDefault(p => p.Name == "container.id")?.Value is not string container)
        {
            return CommandResults.Failure($"{context.ResourceName} has no running container.");
        }
        var url = await ((IResourceWithEndpoints)current.Resource).GetEndpoint(PrometheusResource.HttpEndpointName).GetValueAsync(context.CancellationToken);
        using var http = new HttpClient { BaseAddress = new Uri(url!) };
        var before = await RuntimeInfoAsync(http, context.CancellationToken);

        // SIGHUP, as `kill -HUP` would: no lifecycle API needs to be opened for it.
        var runtime = ContainerImageProbe.Runtime(context.Services.GetRequiredService<IConfiguration>());
        var signal = await ExternalProgram.RunAsync(runtime, ["kill", "--signal", "HUP", container], TimeSpan.FromSeconds(30));
        if (signal.ExitCode != 0) return CommandResults.Failure($"{runtime} kill --signal HUP failed: {signal.Error.Trim()}");

        for (var waited = TimeSpan.Zero; waited < TimeSpan.FromSeconds(15); waited += TimeSpan.FromMilliseconds(250))
        {
            var after = await RuntimeInfoAsync(http, context.CancellationToken);
            if (after.LastConfigTime > before.LastConfigTime || after.Success != before.Success)
            {
                if (!after.Success)
                {
                    return CommandResults.Failure("The configuration or a rule file is invalid: Prometheus keeps the previous one (see its log).");
                }
                var message = $"Configuration and rules reloaded at {after.LastConfigTime:HH:mm:ss} UTC.";
                context.Logger.LogInformation("{Message}", message);
                return CommandResults.Success(message, message);
            }
            await Task.Delay(TimeSpan.FromMilliseconds(250), context.CancellationToken);
        }
        return CommandResults.Failure("Prometheus did not report a reload within 15 s.");
    }

    private static async Task<(DateTimeOffset LastConfigTime, bool Success)> RuntimeInfoAsync(HttpClient http, CancellationToken cancellationToken)
    {
        var data = (await http.GetFromJsonAsync<JsonElement>("/api/v1/status/runtimeinfo", cancellationToken)).GetProperty("data");
        return (data.GetProperty("lastConfigTime").GetDateTimeOffset(), data.GetProperty("reloadConfigSuccess").GetBoolean());
    }

    private static async Task<ExecuteCommandResult> SilenceAsync(ExecuteCommandContext context)
    {
        var name = context.Arguments.GetString("alertname")?.Trim();
        if (string.IsNullOrEmpty(name)) return CommandResults.Failure("alertname is required; nothing was silenced.");
        var durationText = context.Arguments.GetString("duration") is { Length: > 0 } d ? d : "1h";
        if (!Duration.TryParse(durationText, out var duration) || duration < TimeSpan.FromMinutes(1) || duration > MaxSilence)
        {
            return CommandResults.Failure($"duration must be from 1m to {MaxSilence.TotalDays:0}d, like 30m, 1h or 2d (got '{durationText}'); nothing was silenced.");
        }

        using var http = await ClientAsync(context);
        var now = DateTimeOffset.UtcNow;
        var silence = new JsonObject
        {
            ["matchers"] = new JsonArray(new JsonObject { ["name"] = "alertname", ["value"] = name, ["isRegex"] = false, ["isEqual"] = true }),
            ["startsAt"] = now.ToString("O", CultureInfo.InvariantCulture),
            ["endsAt"] = (now + duration).ToString("O", CultureInfo.InvariantCulture),
            ["createdBy"] = "aspire dashboard",
            ["comment"] = $"silenced from the Aspire dashboard for {durationText}",
        };
        using var response = await http.PostAsJsonAsync("/api/v2/silences", silence, context.CancellationToken);
        var body = await response.Content.ReadAsStringAsync(context.CancellationToken);
        if (!response.IsSuccessStatusCode) return CommandResults.Failure($"Alertmanager refused the silence: {body.Trim()}");
        var id = JsonDocument.Parse(body).RootElement.GetProperty("silenceID").GetString();
        var message = $"{name} silenced until {now + duration:yyyy-MM-dd HH:mm} UTC (silence {id}).";
        context.Logger.LogInformation("{Message}", message);
        return CommandResults.Success(message, message);
    }

    private static async Task<ExecuteCommandResult> SendTestAlertAsync(ExecuteCommandContext context)
    {
        using var http = await ClientAsync(context);
        var now = DateTimeOffset.UtcNow;
        var alerts = new JsonArray(new JsonObject
        {
            ["labels"] = new JsonObject { ["alertname"] = TestAlertName, ["severity"] = "info", ["job"] = "aspire" },
            ["annotations"] = new JsonObject { ["summary"] = "A test alert sent from the Aspire dashboard" },
            ["startsAt"] = now.ToString("O", CultureInfo.InvariantCulture),
            ["endsAt"] = now.AddMinutes(5).ToString("O", CultureInfo.InvariantCulture),
        });
        using var response = await http.PostAsJsonAsync("/api/v2/alerts", alerts, context.CancellationToken);
        if (!response.IsSuccessStatusCode) return CommandResults.Failure($"Alertmanager refused the alert: {(await response.Content.ReadAsStringAsync(context.CancellationToken)).Trim()}");
        var message = $"{TestAlertName} (severity info) sent; it resolves by itself at {now.AddMinutes(5):HH:mm} UTC.";
        context.Logger.LogInformation("{Message}", message);
        return CommandResults.Success(message, message);
    }

    private static async Task<HttpClient> ClientAsync(ExecuteCommandContext context)
    {
        var model = context.Services.GetRequiredService<DistributedApplicationModel>();
        var alertmanager = model.Resources.OfType<AlertmanagerResource>().Single();
        var url = await alertmanager.GetEndpoint(AlertmanagerResource.HttpEndpointName).GetValueAsync(context.CancellationToken);
        return new HttpClient { BaseAddress = new Uri(url!) };
    }
}
