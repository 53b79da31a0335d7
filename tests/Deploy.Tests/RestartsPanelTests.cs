namespace CloudApp.Deploy.Tests;

/// <summary>
/// The cluster dashboard's "Container restarts per pod" query, evaluated by promtool (of the Prometheus image the
/// stack runs) on a pod whose container restarted twice in the hour: cAdvisor reports each run of the container as
/// a series of its own (three container ids), kube-state-metrics one counter that went from 0 to 2.
/// </summary>
public sealed class RestartsPanelTests
{
    private const string Panel = "Container restarts per pod (1h)";

    [Fact]
    public async Task CountsTwoRestartsWhereStartTimesOfThreeContainerIdsCountNone()
    {
        var expr = DashboardTests.Panels(DashboardTests.Load("cluster.json"))
            .Single(p => p.GetProperty("title").GetString() == Panel)
            .GetProperty("targets")[0].GetProperty("expr").GetString()!
            .Replace("$namespace", ".*", StringComparison.Ordinal).Replace("$node", ".*", StringComparison.Ordinal);
        // What a panel built on cAdvisor alone would show: each id's start time never changes.
        const string startTimes = """sum by (namespace, pod) (changes(container_start_time_seconds{container!=""}[1h]))""";

        // A plain directory (not a private temp one): readable by the image's unprivileged user.
        var directory = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), $"cloudapp-restarts-{Guid.NewGuid():N}"));
        try
        {
            const string container = """namespace="cloudapp", pod="computeapi-0", container="computeapi", instance="node-a", job="kubernetes-cadvisor" """;
            var test = $$"""
                rule_files: []
                evaluation_interval: 1m
                tests:
                  - interval: 1m
                    input_series:
                      - series: 'container_start_time_seconds{{{container}}, id="/kubepods/pod0/first"}'
                        values: '100x20'
                      - series: 'container_start_time_seconds{{{container}}, id="/kubepods/pod0/second"}'
                        values: '_x20 1300x20'
                      - series: 'container_start_time_seconds{{{container}}, id="/kubepods/pod0/third"}'
                        values: '_x41 2500x19'
                      - series: 'kube_pod_container_status_restarts_total{namespace="cloudapp", pod="computeapi-0", container="computeapi", job="kube-state-metrics", instance="kube-state-metrics-5d8f-abcde"}'
                        values: '0x20 1x20 2x20'
                      - series: 'kube_pod_info{namespace="cloudapp", pod="computeapi-0", node="node-a", job="kube-state-metrics", instance="kube-state-metrics-5d8f-abcde"}'
                        values: '1x60'
                    promql_expr_test:
                      - expr: '{{startTimes.Replace("'", "''", StringComparison.Ordinal)}}'
                        eval_time: 60m
                        exp_samples:
                          - labels: '{namespace="cloudapp", pod="computeapi-0"}'
                            value: 0
                      - expr: '{{expr.Replace("'", "''", StringComparison.Ordinal)}}'
                        eval_time: 60m
                        exp_samples:
                          - labels: '{namespace="cloudapp", pod="computeapi-0"}'
                            value: 2
                """;
            await File.WriteAllTextAsync(Path.Combine(directory.FullName, "restarts.test.yml"), test);

            var result = await ImageTool.PromtoolIn(directory.FullName, "", "test", "rules", "restarts.test.yml");

            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.DoesNotContain("FAILED", result.Output + result.Error);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
