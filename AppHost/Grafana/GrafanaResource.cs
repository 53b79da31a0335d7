namespace CloudApp.AppHost.Grafana;

/// <summary>A Grafana server run from a container image, provisioned from files under deploy/grafana.</summary>
public sealed class GrafanaResource(string name) : ContainerResource(name)
{
    public const string HttpEndpointName = "http";
    public const int Port = 3000;

    /// <summary>Where the dashboard provider (deploy/grafana/provisioning/dashboards) loads dashboards from.</summary>
    public const string DashboardsDirectory = "/var/lib/grafana/dashboards";

    /// <summary>Fixed uids of the provisioned dashboards (deploy/grafana/dashboards), for links.</summary>
    public const string ComputeApiDashboardUid = "cloudapp-computeapi";
}
