using k8s;
using k8s.Models;

namespace CloudApp.AppHost.Kubernetes;

/// <summary>The service account and role of a workload that reads the Kubernetes API.</summary>
internal static class Rbac
{
    /// <summary>Read-only access to what Kubernetes service discovery and the kubelet's metrics need, nothing more.</summary>
    public static List<IKubernetesObject<V1ObjectMeta>> DiscoveryAccess(string clusterRolePrefix, string name, string ns, Dictionary<string, string> labels)
    {
        var clusterRoleName = $"{clusterRolePrefix}-{name}";
        string[] read = ["get", "list", "watch"];
        return
        [
            ServiceAccount(name, ns, labels),
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

    /// <summary>
    /// List and watch the pods of the workload's own namespace: a Role and RoleBinding, namespaced, so an overlay that
    /// moves the install moves them too and two installs never share them.
    /// </summary>
    public static List<IKubernetesObject<V1ObjectMeta>> PodsOfItsNamespace(string name, string ns, Dictionary<string, string> labels) =>
    [
        ServiceAccount(name, ns, labels),
        new V1Role
        {
            ApiVersion = "rbac.authorization.k8s.io/v1",
            Kind = "Role",
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns, Labels = labels },
            Rules = [new V1PolicyRule { ApiGroups = [""], Resources = ["pods"], Verbs = ["list", "watch"] }],
        },
        new V1RoleBinding
        {
            ApiVersion = "rbac.authorization.k8s.io/v1",
            Kind = "RoleBinding",
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns, Labels = labels },
            RoleRef = new V1RoleRef { ApiGroup = "rbac.authorization.k8s.io", Kind = "Role", Name = name },
            Subjects = [new Rbacv1Subject { Kind = "ServiceAccount", Name = name, NamespaceProperty = ns }],
        },
    ];

    /// <summary>The workload's own service account; the pod spec mounts its token, nothing else does.</summary>
    private static V1ServiceAccount ServiceAccount(string name, string ns, Dictionary<string, string> labels) => new()
    {
        ApiVersion = "v1",
        Kind = "ServiceAccount",
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns, Labels = labels },
        AutomountServiceAccountToken = false,
    };
}
