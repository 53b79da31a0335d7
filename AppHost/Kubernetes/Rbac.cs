using k8s;
using k8s.Models;

namespace CloudApp.AppHost.Kubernetes;

/// <summary>The service account and cluster role of a workload that reads the Kubernetes API.</summary>
internal static class Rbac
{
    /// <summary>Read-only access to what Kubernetes service discovery and the kubelet's metrics need, nothing more.</summary>
    public static List<IKubernetesObject<V1ObjectMeta>> DiscoveryAccess(string clusterRolePrefix, string name, string ns, Dictionary<string, string> labels)
    {
        var clusterRoleName = $"{clusterRolePrefix}-{name}";
        string[] read = ["get", "list", "watch"];
        return
        [
            new V1ServiceAccount
            {
                ApiVersion = "v1",
                Kind = "ServiceAccount",
                Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns, Labels = labels },
                AutomountServiceAccountToken = false,
            },
            new V1ClusterRole
            {
                ApiVersion = "rbac.authorization.k8s.io/v1",
                Kind = "ClusterRole",
                Metadata = new V1ObjectMeta { Name = clusterRoleName, Labels = labels },
                Rules =
                [
                    new V1PolicyRule { ApiGroups = [""], Resources = ["nodes", "nodes/metrics", "services", "endpoints", "pods"], Verbs = read },
                    new V1PolicyRule { ApiGroups = ["discovery.k8s.io"], Resources = ["endpointslices"], Verbs = read },
                    new V1PolicyRule { NonResourceURLs = ["/metrics"], Verbs = ["get"] },
                ],
            },
            new V1ClusterRoleBinding
            {
                ApiVersion = "rbac.authorization.k8s.io/v1",
                Kind = "ClusterRoleBinding",
                Metadata = new V1ObjectMeta { Name = clusterRoleName, Labels = labels },
                RoleRef = new V1RoleRef { ApiGroup = "rbac.authorization.k8s.io", Kind = "ClusterRole", Name = clusterRoleName },
                Subjects = [new Rbacv1Subject { Kind = "ServiceAccount", Name = name, NamespaceProperty = ns }],
            },
        ];
    }
}
